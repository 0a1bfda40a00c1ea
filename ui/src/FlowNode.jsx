// One node on the canvas: what it does in words (nodeSummary.js), its kind and id in small, the validation
// overlay (issues, broken references), the per-node live counts (entered, waiting now, exited here), a badge
// for its suggestions (it opens the suggestions pane), and one source handle per outgoing reference.
import React from "react";
import { Handle, Position } from "@xyflow/react";

export default function FlowNode({ id, data }) {
  const { kind, refs, issues, broken, counts, onPath, title, detail, icon } = data;
  const classes = ["sy-node", `kind-${kind}`];
  if (issues.length || broken.length) classes.push("invalid");
  if (onPath) classes.push("on-path");
  return (
    <div className={classes.join(" ")} data-testid={`node-${id}`} title={[title, detail, ...issues.map((i) => i.message)].filter(Boolean).join("\n")}>
      {kind !== "trigger" && <Handle type="target" position={Position.Top} />}
      <div className="sy-head">
        <span className="sy-icon" aria-hidden="true">{icon}</span>
        <span className="sy-kind">{kind.replace("_", " ")}</span>
        <span className="sy-id" data-testid={`node-id-${id}`}>{data.label}</span>
      </div>
      <div className="sy-title" data-testid={`node-title-${id}`}>{title}</div>
      {detail && <div className="sy-detail">{detail}</div>}
      {issues.length > 0 && (
        <div className="sy-issue" data-testid={`node-issue-${id}`}>
          ⚠ {issues[0].message}
          {issues.length > 1 ? ` (+${issues.length - 1})` : ""}
        </div>
      )}
      {broken.map((b) => (
        <div key={b.field} className="sy-broken" data-testid={`broken-${id}`}>
          ✂ {b.field} → missing “{b.target}”
        </div>
      ))}
      {counts && (
        <div className="sy-counts" data-testid={`count-${id}`} title="runs that entered this node, wait at it now and exited the workflow here">
          entered {counts.reached} · waiting {counts.live} · exited {counts.exited || 0}
          {counts.goals ? ` · converted ${counts.goals}` : ""}
          {counts.actions ? ` · sent ${counts.actions}` : ""}
        </div>
      )}
      {data.recs?.length > 0 && (
        <button type="button" className="sy-recs" data-testid={`node-recs-${id}`} onClick={() => data.onRecs(id)}
          title={data.recs.map((r) => r.expected_effect).join("\n")}>
          ◆ {data.recs.length} suggestion{data.recs.length > 1 ? "s" : ""}: {data.recs.map((r) => r.kind.replaceAll("_", " ")).join(", ")}
        </button>
      )}
      <div className="sy-handles">
        {refs.map((ref) => (
          <span key={ref.field} className="sy-handle-label" title={ref.label || "next"}>
            <span className="sy-handle-text">{ref.label || "next"}</span>
            <Handle type="source" id={ref.field} position={Position.Bottom} className="sy-handle" />
          </span>
        ))}
      </div>
    </div>
  );
}
