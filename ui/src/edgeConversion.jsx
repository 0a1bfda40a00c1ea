// Conversion on the canvas's edges: each edge source → target gets the share of the runs that reached the
// source and went straight on to the target (the /stats `edges`, counted from each run's node visits in
// production order), after its own label. No share while the source was reached by no run over the period
// (or before the stats answer). Two edges between the same pair of nodes (a wait_for whose event and timeout
// lead to one node) show the same share: the visits do not say which reference was followed.
import React from "react";

export function percent(share) {
  const value = share * 100;
  return value > 0 && value < 1 ? "<1%" : `${Math.round(value)}%`;
}

export function withConversion(edges, stats) {
  if (!stats?.nodes) return edges;
  const runs = new Map((stats.edges || []).map((e) => [`${e.source}\u0000${e.target}`, e.runs]));
  return edges.map((edge) => {
    const reached = stats.nodes[edge.source]?.reached || 0;
    if (!reached) return edge;
    const went = runs.get(`${edge.source}\u0000${edge.target}`) || 0;
    const share = percent(went / reached);
    return {
      ...edge,
      label: (
        <>
          {edge.label ? `${edge.label} · ` : ""}
          <tspan className="edge-share" data-testid={`edge-share-${edge.id}`}>{share}</tspan>
        </>
      ),
      ariaLabel: `${edge.label ? `${edge.label}: ` : ""}${edge.source} to ${edge.target}, ${share}`
        + ` (${went} of the ${reached} runs that reached ${edge.source})`,
    };
  });
}
