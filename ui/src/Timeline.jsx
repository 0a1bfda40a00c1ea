// The simulated contact's timeline: the scripted events and, from the trial's trace, what the workflow did
// at each moment (entered, waited until when, resumed, sent what, branched, exited), times relative to the
// simulation's start. Clicking an entry selects its node on the canvas.
import React from "react";

const UNITS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

// milliseconds -> "+1d2h", the engine's duration literals (engine/durations.py format_duration)
export function formatOffset(ms) {
  if (ms <= 0) return "+0";
  const out = [];
  let rest = ms;
  for (const unit of ["w", "d", "h", "m", "s", "ms"]) {
    if (rest >= UNITS[unit]) {
      out.push(`${Math.floor(rest / UNITS[unit])}${unit}`);
      rest %= UNITS[unit];
    }
  }
  return `+${out.join("")}`;
}

export function parseOffset(value) {
  if (typeof value === "number") return value;
  let total = 0;
  for (const [, n, unit] of String(value).matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * UNITS[unit];
  return total;
}

function describe(step, actions) {
  const node = step.node_id || "";
  switch (step.transition) {
    case "entered":
      return `entered the workflow (${step.reason})`;
    case "waited":
      return `${node} waits ${step.reason}${step.due ? ` · until ${formatOffset(step.due - step.start)}` : ""}`;
    case "resumed":
      return `${node} resumes (${step.reason})`;
    case "acted": {
      const action = actions[step.action_id];
      const subject = action?.params?.subject ? ` · “${action.params.subject}”` : "";
      return `${node} ${step.action || step.reason}${subject}`;
    }
    default:
      return `${node} ${step.transition}${step.reason ? ` (${step.reason})` : ""}`;
  }
}

export function timelineOf(trial, script) {
  if (!trial || trial.error || !trial.contacts) return [];
  const entries = [];
  for (const contact of trial.contacts) {
    const actions = Object.fromEntries(contact.actions.map((a) => [a.action_id, a]));
    for (const step of contact.trace) {
      if (step.workflow_id !== trial.workflow_id) continue;
      entries.push({ ts: step.ts, kind: step.transition, node: step.node_id, contact: contact.contact_id,
        text: describe({ ...step, start: trial.start }, actions) });
    }
  }
  for (const c of script?.contacts || []) {
    for (const e of c.events || []) {
      if (e.ts !== undefined) continue;
      entries.push({ ts: trial.start + parseOffset(e.after ?? 0), kind: "event", node: null, contact: c.contact_id,
        text: `event ${e.type}${Object.keys(e.properties || {}).length ? ` ${JSON.stringify(e.properties)}` : ""}` });
    }
  }
  // at one moment the event comes first, then what it caused (a stable sort keeps the trace's order)
  return entries.map((e, i) => [e, i]).sort(([a, i], [b, j]) => a.ts - b.ts || (a.kind === "event" ? -1 : 0) - (b.kind === "event" ? -1 : 0) || i - j).map(([e]) => e);
}

export default function Timeline({ trial, script, onSelect }) {
  const entries = timelineOf(trial, script);
  if (!entries.length) return <div className="timeline muted" data-testid="timeline">no steps yet: run a simulation</div>;
  return (
    <ol className="timeline" data-testid="timeline" aria-label="simulation timeline">
      {entries.map((e, k) => (
        <li key={k} className={`tl-${e.kind}`} data-testid="timeline-entry" data-node={e.node || ""}
          onClick={() => e.node && onSelect(e.node)}>
          <span className="tl-when">{formatOffset(e.ts - trial.start)}</span>
          <span className="tl-what">{e.text}</span>
        </li>
      ))}
    </ol>
  );
}
