// One node on the canvas: its kind and id, the validation overlay (issues, broken references), the
// per-node live counts, and one source handle per outgoing reference.
import React from "react";
import { Handle, Position } from "@xyflow/react";

export default function FlowNode({ id, data }) {
  const { kind, refs, issues, broken, counts, onPath } = data;
  const classes = ["sy-node", `kind-${kind}`];
  if (issues.length || broken.length) classes.push("invalid");
  if (onPath) classes.push("on-path");
  return (
    <div className={classes.join(" ")} data-testid={`node-${id}`} title={issues.map((i) => i.message).join("\n")}>
      {kind !== "trigger" && <Handle type="target" position={Position.Top} />}
      <div className="sy-kind">{kind}</div>
      <div className="sy-id">{data.label}</div>
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
        <div className="sy-counts" data-testid={`count-${id}`}>
          reached {counts.reached} · live {counts.live}
          {counts.actions ? ` · sent ${counts.actions}` : ""}
        </div>
      )}
      <div className="sy-handles">
        {refs.map((ref) => (
          <span key={ref.field} className="sy-handle-label">
            {ref.label || "next"}
            <Handle type="source" id={ref.field} position={Position.Bottom} className="sy-handle" />
          </span>
        ))}
      </div>
    </div>
  );
}
