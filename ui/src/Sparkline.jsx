// A small inline SVG line of daily values (the home view's runs entered per day): one point per day, the
// last one marked, scaled to the largest value (a flat line at the bottom when every day is 0). The
// aria-label reads out each day and its value, since the drawing alone says nothing to a screen reader.
import React from "react";

const WIDTH = 84;
const HEIGHT = 22;
const PAD = 2;

export default function Sparkline({ points, label, testId }) {
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = points.length > 1 ? (WIDTH - 2 * PAD) / (points.length - 1) : 0;
  const xy = points.map((p, i) => [PAD + i * step, HEIGHT - PAD - (p.value / max) * (HEIGHT - 2 * PAD)]);
  const line = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const described = points.map((p) => `${p.day}: ${p.value}`).join(", ");
  const last = xy[xy.length - 1];
  return (
    <svg className="sparkline" role="img" width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      data-testid={testId} aria-label={`${label}: ${described}`}>
      <title>{`${label}: ${described}`}</title>
      <polyline points={line} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
      {last && <circle cx={last[0]} cy={last[1]} r="2" fill="currentColor" />}
    </svg>
  );
}
