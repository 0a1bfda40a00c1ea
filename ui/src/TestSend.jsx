// A test send of an email node to one address through the real email sink (POST .../nodes/{node}/test-send):
// rendered for a sample contact (attributes as rows) or a stored one, with optional trigger-event properties
// (what run.vars.* and event.* read). Test sends are marked [Test] and never counted.
import React, { useState } from "react";
import { call } from "./api.js";
import KeyValueRows, { fromRows } from "./KeyValueRows.jsx";
import "./forms.css";

export function emailNodes(definition) {
  return Object.entries(definition.nodes || {})
    .filter(([, n]) => n.type === "action" && n.action === "send_email")
    .map(([id]) => id);
}

export default function TestSend({ workflowId, draft, selected }) {
  const nodes = emailNodes(draft);
  const [node, setNode] = useState(nodes.includes(selected) ? selected : "");
  const [to, setTo] = useState("");
  const [contactId, setContactId] = useState("");
  const [attributes, setAttributes] = useState([{ key: "first_name", value: "" }]);
  const [properties, setProperties] = useState([]);
  const [result, setResult] = useState(null);
  const chosen = node || (nodes.includes(selected) ? selected : nodes[0] || "");

  const send = async () => {
    const body = { to, definition: draft, event: { properties: fromRows(properties) } };
    if (contactId.trim()) body.contact_id = contactId.trim();
    else body.contact = { attrs: fromRows(attributes) };
    setResult({ pending: true });
    const r = await call("POST", `/v1/workflows/${encodeURIComponent(workflowId)}/nodes/${encodeURIComponent(chosen)}/test-send`, body);
    setResult(r.ok ? r.data : { error: r.data.message || `failed (${r.status})` });
  };

  if (!nodes.length) return <p className="muted" data-testid="test-send">this workflow has no email node</p>;
  return (
    <div className="test-send" data-testid="test-send">
      <fieldset>
        <legend>Send a test of</legend>
        <select aria-label="email node" data-testid="test-send-node" value={chosen} onChange={(e) => setNode(e.target.value)}>
          {nodes.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
        <label> to <input type="email" data-testid="test-send-to" placeholder="you@example.com" value={to}
          onChange={(e) => setTo(e.target.value)} /></label>
        <button data-testid="test-send-run" disabled={!to || !chosen || result?.pending} onClick={send}>Send test</button>
      </fieldset>
      <fieldset>
        <legend>As contact</legend>
        <label>stored contact id <input data-testid="test-send-contact" placeholder="(empty: the sample below)" value={contactId}
          onChange={(e) => setContactId(e.target.value)} /></label>
        {!contactId.trim() && <KeyValueRows testid="test-send-attr" label="attribute" rows={attributes} onChange={setAttributes} />}
        <span className="muted">trigger event properties</span>
        <KeyValueRows testid="test-send-prop" label="property" rows={properties} onChange={setProperties} />
      </fieldset>
      {result && !result.pending && (
        <p data-testid="test-send-result" className={result.error ? "bad" : "good"}>
          {result.error ? result.error : `sent to ${result.to}: “${result.subject}” (${result.message_id}) · a test, not counted`}
        </p>
      )}
    </div>
  );
}
