// Connecting nodes without a mouse: with a node selected, pick one of its outputs (the branch arms,
// wait_for's event/timeout, ...) and the node it leads to; Connect sets that reference as a drawn edge does.
// It sits under the side panel, so it never covers a card on the canvas.
import React, { useEffect, useState } from "react";
import { TRIGGER, references } from "./graph.js";

export default function KeyboardConnect({ definition, source, onConnect }) {
  const node = source === TRIGGER ? { type: "trigger", start: definition.start } : definition.nodes?.[source];
  const outputs = node ? references(source, node) : [];
  const targets = Object.keys(definition.nodes || {}).filter((id) => id !== source);
  const [field, setField] = useState("");
  const [target, setTarget] = useState("");
  useEffect(() => { setField(""); setTarget(""); }, [source]);
  if (!node || !outputs.length || !targets.length) return null;
  const chosenField = outputs.some((o) => o.field === field) ? field : outputs[0].field;
  const chosenTarget = targets.includes(target) ? target : "";
  const label = source === TRIGGER ? "the trigger" : source;
  return (
    <section className="kb-connect" data-testid="connect-panel" aria-label={`Connect ${label} to another node`}>
      <span>Connect {label}</span>
      {outputs.length > 1 && (
        <select data-testid="connect-output" aria-label="Output" value={chosenField} onChange={(e) => setField(e.target.value)}>
          {outputs.map((o) => <option key={o.field} value={o.field}>{o.label || "next"}{o.target ? ` (now ${o.target})` : ""}</option>)}
        </select>
      )}
      <select data-testid="connect-target" aria-label="Connect to" value={chosenTarget} onChange={(e) => setTarget(e.target.value)}>
        <option value="">to…</option>
        {targets.map((id) => <option key={id} value={id}>{id}</option>)}
      </select>
      <button type="button" data-testid="connect-apply" disabled={!chosenTarget}
        onClick={() => onConnect({ source, sourceHandle: chosenField, target: chosenTarget })}>Connect</button>
    </section>
  );
}
