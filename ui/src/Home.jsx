// The home view: every workflow of the catalog with its status, version and live figures (entered, active
// now, converted over the last 7 UTC days, and a sparkline of the runs entered each day; "–" when no
// analytics endpoint answers), searchable and filtered by status; "New from template" opens the gallery of
// the example workflows. The API token box is the builder's: on a worker that wants one, typing it loads the
// list again.
import React, { useEffect, useMemo, useRef, useState } from "react";
import { call } from "./api.js";
import Sparkline from "./Sparkline.jsx";
import TemplateGallery from "./TemplateGallery.jsx";
import TokenInput from "./TokenInput.jsx";

const RELOAD_DELAY_MS = 400; // after the last key typed into the token box

const STATUSES = ["draft", "published", "paused", "archived"];
const DASH = "–";

// entered / active now / converted / runs entered per day from GET /v1/workflows/{id}/stats, or null when
// it does not answer
async function figuresOf(id) {
  const r = await call("GET", `/v1/workflows/${encodeURIComponent(id)}/stats?days=7`);
  if (!r.ok) return null;
  const active = Object.values(r.data.nodes || {}).reduce((sum, n) => sum + (Number(n.live) || 0), 0);
  const daily = (r.data.daily || []).map((d) => ({ day: d.day, value: Number(d.entered) || 0 }));
  return { entered: r.data.entered, active, converted: r.data.goals, daily };
}

export default function Home({ templates, token, onToken, onOpen, onTemplate, onBlank }) {
  const [workflows, setWorkflows] = useState(null);
  const [failure, setFailure] = useState("");
  const [figures, setFigures] = useState({});
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState("");
  const [gallery, setGallery] = useState(false);
  const loaded = useRef(false); // the first load goes at once, a reload for a new token once it is typed

  useEffect(() => {
    let stop = false;
    const load = () => call("GET", "/v1/workflows").catch(() => ({ status: 0, ok: false, data: {} })).then((r) => {
      if (stop) return;
      if (!r.ok) {
        setFailure(r.data.message || `the workflow list did not load (${r.status || "no answer"})`);
        setWorkflows([]);
        return;
      }
      setFailure("");
      setWorkflows(r.data.workflows);
      for (const w of r.data.workflows) {
        figuresOf(w.id).catch(() => null).then((f) => !stop && setFigures((old) => ({ ...old, [w.id]: f })));
      }
    });
    const timer = setTimeout(load, loaded.current ? RELOAD_DELAY_MS : 0);
    loaded.current = true;
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [token]);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (workflows || []).filter((w) => (!status || w.status === status)
      && (!q || w.id.toLowerCase().includes(q) || (w.name || "").toLowerCase().includes(q)));
  }, [workflows, query, status]);

  const figure = (id, key) => {
    const f = figures[id];
    return f ? f[key] : DASH; // null: the stats endpoint answered 503 (or failed); undefined: still loading
  };

  return (
    <div className="home" data-testid="home">
      <header className="toolbar">
        <strong>Switchyard</strong>
        <span className="muted-light">workflows</span>
        <button data-testid="new-from-template" onClick={() => setGallery(true)}>New from template</button>
        <button data-testid="new-blank" onClick={onBlank}>Blank workflow</button>
        <span className="toolbar-end"><TokenInput value={token} onChange={onToken} /></span>
      </header>
      <div className="home-body">
        <div className="home-filters">
          <input data-testid="home-search" type="search" placeholder="Search by name or id" aria-label="Search by name or id"
            value={query} onChange={(e) => setQuery(e.target.value)} />
          <select data-testid="home-status" aria-label="Filter by status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
          <span className="muted" data-testid="home-count">
            {workflows === null ? "loading…" : `${shown.length} of ${workflows.length}`}
          </span>
        </div>
        {failure && <p className="bad" role="alert">{failure}</p>}
        <table className="home-list" data-testid="home-list">
          <thead>
            <tr><th>Workflow</th><th>Status</th><th>Version</th><th>Entered</th><th>Active now</th><th>Converted</th><th>Last 7 days</th></tr>
          </thead>
          <tbody>
            {shown.map((w) => (
              <tr key={w.id} data-testid={`home-row-${w.id}`} tabIndex={0} onClick={() => onOpen(w.id)}
                onKeyDown={(e) => e.key === "Enter" && onOpen(w.id)}>
                <td><div className="home-name">{w.name || w.id}</div><div className="home-id">{w.id}</div></td>
                <td><span className={`status status-${w.status}`} data-testid={`home-status-${w.id}`}>{w.status}</span></td>
                <td>v{w.version}{w.draft_version && w.draft_version !== w.version ? ` (draft v${w.draft_version})` : ""}</td>
                <td data-testid={`home-entered-${w.id}`}>{figure(w.id, "entered")}</td>
                <td data-testid={`home-active-${w.id}`}>{figure(w.id, "active")}</td>
                <td data-testid={`home-converted-${w.id}`}>{figure(w.id, "converted")}</td>
                <td className="home-trend" data-testid={`home-trend-${w.id}`}>
                  {figures[w.id]?.daily?.length
                    ? <Sparkline points={figures[w.id].daily} label="Runs entered per day" testId={`home-spark-${w.id}`} />
                    : DASH}
                </td>
              </tr>
            ))}
            {workflows !== null && !shown.length && (
              <tr><td colSpan={7} className="muted" data-testid="home-empty">
                {workflows.length ? "No workflow matches." : "No workflows yet: start from a template."}
              </td></tr>
            )}
          </tbody>
        </table>
      </div>
      {gallery && <TemplateGallery templates={templates} onPick={onTemplate} onClose={() => setGallery(false)} />}
    </div>
  );
}
