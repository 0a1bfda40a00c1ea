// The version history: every stored version (status, note, when it was published) and a visual diff
// between two chosen versions, computed by the server from the stored definitions (GET .../diff).
import React, { useEffect, useState } from "react";
import { call } from "./api.js";
import "./forms.css";

function shown(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function Changes({ changes }) {
  return (
    <table className="diff-fields">
      <tbody>
        {changes.map((c) => (
          <tr key={c.field} data-testid="diff-field">
            <td className="diff-field-name">{c.field}</td>
            <td className="diff-before">{shown(c.before)}</td>
            <td aria-hidden="true">→</td>
            <td className="diff-after">{shown(c.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export default function VersionHistory({ workflowId, summary, onSelect }) {
  const versions = summary?.versions || [];
  const numbers = versions.map((v) => v.version);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [diff, setDiff] = useState(null);

  // by default: the latest version against the one before it
  useEffect(() => {
    setFrom(numbers.length > 1 ? String(numbers[numbers.length - 2]) : "");
    setTo(numbers.length ? String(numbers[numbers.length - 1]) : "");
    setDiff(null);
  }, [workflowId, numbers.join(",")]); // eslint-disable-line react-hooks/exhaustive-deps

  const compare = async () => {
    const r = await call("GET", `/v1/workflows/${encodeURIComponent(workflowId)}/diff?from=${from}&to=${to}`);
    setDiff(r.ok ? r.data : { error: r.data.message });
  };

  const same = !diff?.error && diff && !diff.added.length && !diff.removed.length && !diff.changed.length && !diff.workflow.length;
  return (
    <div className="history">
      <table data-testid="history">
        <thead><tr><th>version</th><th>status</th><th>note</th><th>published</th></tr></thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version}>
              <td>v{v.version}</td><td>{v.status}</td><td>{v.note}</td>
              <td>{v.published_at ? new Date(v.published_at).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {versions.length > 1 && (
        <div className="diff-pick">
          compare <select aria-label="from version" data-testid="diff-from" value={from} onChange={(e) => setFrom(e.target.value)}>
            {numbers.map((n) => <option key={n} value={n}>v{n}</option>)}
          </select> with <select aria-label="to version" data-testid="diff-to" value={to} onChange={(e) => setTo(e.target.value)}>
            {numbers.map((n) => <option key={n} value={n}>v{n}</option>)}
          </select> <button data-testid="diff-run" onClick={compare}>Compare</button>
        </div>
      )}
      {diff && (
        <div className="diff" data-testid="diff">
          {diff.error && <p className="bad">{diff.error}</p>}
          {same && <p className="muted">v{diff.from} and v{diff.to} are the same journey</p>}
          {diff.added?.map((n) => (
            <div key={n.node} className="diff-node diff-added" data-testid="diff-added" onClick={() => onSelect(n.node)}>+ {n.node} <span className="muted">({n.type})</span></div>
          ))}
          {diff.removed?.map((n) => (
            <div key={n.node} className="diff-node diff-removed" data-testid="diff-removed">− {n.node} <span className="muted">({n.type})</span></div>
          ))}
          {diff.changed?.map((n) => (
            <div key={n.node} className="diff-node diff-changed" data-testid="diff-changed" onClick={() => onSelect(n.node)}>
              ~ {n.node} <span className="muted">({n.type})</span>
              <Changes changes={n.changes} />
            </div>
          ))}
          {diff.workflow?.length > 0 && (
            <div className="diff-node diff-changed" data-testid="diff-workflow">~ workflow<Changes changes={diff.workflow} /></div>
          )}
        </div>
      )}
    </div>
  );
}
