// Suggestions for the opened workflow (GET /v1/workflows/{id}/recommendations): the hook that fetches them
// once per opened published version, the panel listing them with their evidence and expected effect, the
// apply dialog (the dry-run preview's diff and validation first, "Save as draft" then applies) and the
// dismiss dialog (an optional reason). Apply and dismiss are recorded by the API, never by the page.
import React, { useEffect, useMemo, useRef, useState } from "react";
import { call } from "./api.js";
import "./Recommendations.css";

const KIND_TITLES = {
  open_rate_drop: "Open rate below its siblings",
  click_rate_low: "Click rate below the rest",
  drop_off: "Runs drop off here",
  split_winner: "A split arm wins",
  goal_never_reached: "Goal never reached",
  fixed_wait_before_send: "Fixed wait before a send",
};

export function kindTitle(kind) {
  return KIND_TITLES[kind] || kind.replaceAll("_", " ");
}

const base = (workflowId) => `/v1/workflows/${encodeURIComponent(workflowId)}/recommendations`;

// The suggestions of `summary`'s workflow (its governing version), fetched when another workflow or version
// is opened; each fetch is recorded by the API as "shown", so there is no polling. `outcomes` says which were
// applied (this session, or the workflow's draft's version note names them) or dismissed in this session, so
// the badges count the open ones only (the API leaves out what was dismissed once the analytics store has it).
export function useRecommendations(summary) {
  const [state, setState] = useState({ workflow: null, version: null, days: 0, recs: [], error: null });
  const [acted, setActed] = useState({});
  const workflowId = summary?.id;
  const live = Boolean(summary?.versions?.some((v) => v.status !== "draft"));
  const version = live ? summary.version : null;

  useEffect(() => {
    setActed({});
    if (!workflowId || !live) {
      setState({ workflow: workflowId || null, version: null, days: 0, recs: [], error: null });
      return undefined;
    }
    let stale = false;
    call("GET", base(workflowId)).then((r) => {
      if (stale) return;
      setState(r.ok
        ? { workflow: workflowId, version: r.data.version, days: r.data.days, recs: r.data.recommendations, error: null }
        : { workflow: workflowId, version, days: 0, recs: [], error: r.data.message || `HTTP ${r.status}` });
    });
    return () => { stale = true; };
  }, [workflowId, live, version]);

  const versions = summary?.versions;
  const outcomes = useMemo(() => {
    const inDraft = {}; // the API notes "recommendation <id>: <kind> at <node>" on the draft an apply creates
    for (const v of versions || []) {
      const rid = v.status === "draft" && /^recommendation (\S+):/.exec(v.note || "")?.[1];
      if (rid) inDraft[rid] = { applied: { draft_version: v.version } };
    }
    return { ...inDraft, ...acted };
  }, [versions, acted]);

  // memoised: the canvas's nodes are recomputed only when these change
  const { open, byNode } = useMemo(() => {
    const left = state.recs.filter((rec) => !outcomes[rec.id]);
    const grouped = {};
    for (const rec of left) (grouped[rec.node] ||= []).push(rec);
    return { open: left, byNode: grouped };
  }, [state.recs, outcomes]);
  const settle = (rid, outcome) => setActed((o) => ({ ...o, [rid]: outcome }));
  return { ...state, live, open, byNode, outcomes, settle };
}

function isRate(key) {
  return /rate|share/.test(key);
}

// one evidence figure as text: rates in %, other fractions to 3 significant digits, nested figures inline
export function figureText(key, value) {
  if (typeof value === "number") {
    if (isRate(key) && value >= 0 && value <= 1) return `${(value * 100).toFixed(1)}%`;
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
  }
  if (value && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${k}: ${figureText(k, v)}`).join(", ")}}`;
  }
  return value == null ? "–" : String(value);
}

function ValueText({ value }) {
  if (value === null || value === undefined) return <span className="muted">(none)</span>;
  return <code>{JSON.stringify(value)}</code>;
}

// A modal dialog: labelled by its heading, focus moves into it (to `initial`, else its first control) and
// goes back to where it was when it closes; Escape cancels.
function Dialog({ title, testId, onCancel, children }) {
  const box = useRef(null);
  const titleId = `${testId}-title`;
  useEffect(() => {
    const before = document.activeElement;
    const first = box.current?.querySelector("[data-initial-focus]") || box.current?.querySelector("input, button:not(:disabled)");
    first?.focus();
    return () => before?.focus?.();
  }, []);
  return (
    <div className="gallery-backdrop" onClick={onCancel}>
      <div className="rec-dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} data-testid={testId}
        ref={box} onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => { if (e.key === "Escape") { e.stopPropagation(); onCancel(); } }}>
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>
  );
}

function DiffTable({ diff }) {
  return (
    <table className="rec-diff" data-testid="rec-diff">
      <thead><tr><th scope="col">path</th><th scope="col">before</th><th scope="col">after</th></tr></thead>
      <tbody>
        {diff.map((d) => (
          <tr key={d.path} data-testid={`rec-diff-${d.path}`}>
            <td><code>{d.path}</code></td>
            <td className="rec-before"><ValueText value={d.before} /></td>
            <td className="rec-after"><ValueText value={d.after} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ValidationText({ validation, testId }) {
  const errors = validation.issues.filter((i) => i.severity === "error");
  return (
    <div data-testid={testId} className={validation.valid ? "good" : "bad"}>
      {validation.valid ? "validates" : `${errors.length} error(s): ${errors.map((i) => i.message).join("; ")}`}
      {validation.issues.length > errors.length ? ` (${validation.issues.length - errors.length} warning(s))` : ""}
    </div>
  );
}

function ApplyDialog({ workflowId, rec, onApplied, onCancel }) {
  const [preview, setPreview] = useState(null);
  const [failure, setFailure] = useState("");
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    call("GET", `${base(workflowId)}/${rec.id}/preview`).then((r) => {
      if (r.ok) setPreview(r.data);
      else setFailure(r.data.message || `HTTP ${r.status}`);
    });
  }, [workflowId, rec.id]);
  const save = async () => {
    setSaving(true);
    const r = await call("POST", `${base(workflowId)}/${rec.id}/apply`);
    setSaving(false);
    if (r.ok) onApplied(r.data);
    else setFailure(r.data.message || `HTTP ${r.status}`);
  };
  return (
    <Dialog title={`Apply: ${kindTitle(rec.kind)} at ${rec.node}`} testId="rec-apply-dialog" onCancel={onCancel}>
      <p className="muted">{rec.expected_effect}</p>
      {!preview && !failure && <p className="muted">computing the change…</p>}
      {preview && (
        <>
          <p>The change as draft v{preview.draft_version} (nothing is saved yet):</p>
          <DiffTable diff={preview.diff} />
          <ValidationText validation={preview.validation} testId="rec-preview-validation" />
        </>
      )}
      {failure && <p className="bad" role="alert" data-testid="rec-apply-error">{failure}</p>}
      <div className="rec-dialog-buttons">
        <button data-testid="rec-save-draft" onClick={save} disabled={!preview || saving}>Save as draft</button>
        <button data-testid="rec-apply-cancel" onClick={onCancel}>Cancel</button>
      </div>
    </Dialog>
  );
}

function DismissDialog({ rec, onDismiss, onCancel }) {
  const [reason, setReason] = useState("");
  return (
    <Dialog title={`Dismiss: ${kindTitle(rec.kind)} at ${rec.node}`} testId="rec-dismiss-dialog" onCancel={onCancel}>
      <form onSubmit={(e) => { e.preventDefault(); onDismiss(reason); }}>
        <label className="field" htmlFor="rec-dismiss-reason">
          <span>Reason (optional)</span>
          <input id="rec-dismiss-reason" data-testid="rec-dismiss-reason" data-initial-focus maxLength={1000}
            value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <div className="rec-dialog-buttons">
          <button type="submit" data-testid="rec-dismiss-confirm">Dismiss suggestion</button>
          <button type="button" data-testid="rec-dismiss-cancel" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

function Outcome({ outcome }) {
  if (outcome.applied) {
    return (
      <div className="rec-outcome" data-testid="rec-outcome">
        applied as draft v{outcome.applied.draft_version}
        {outcome.applied.validation && (
          <>
            {" "}(opened) · <ValidationText validation={outcome.applied.validation} testId="rec-draft-validation" />
          </>
        )}
      </div>
    );
  }
  return (
    <div className="rec-outcome" data-testid="rec-outcome">
      dismissed{outcome.dismissed ? `: ${outcome.dismissed}` : ""}
    </div>
  );
}

// The "suggestions" pane: every suggestion of the governing version, with its kind, node, evidence figures and
// expected effect; Apply and Dismiss open their dialogs. `onApplied(answer)` opens the new draft.
export default function RecommendationsPanel({ recs, focusNode, onApplied, onMessage }) {
  const workflowId = recs.workflow;
  const [applying, setApplying] = useState(null);
  const [dismissing, setDismissing] = useState(null);

  const dismiss = async (rec, reason) => {
    const r = await call("POST", `${base(workflowId)}/${rec.id}/dismiss`, { reason });
    setDismissing(null);
    if (!r.ok) return onMessage(`dismiss failed: ${r.data.message}`);
    recs.settle(rec.id, { dismissed: reason });
    onMessage("suggestion dismissed");
  };

  const applied = (rec, answer) => {
    setApplying(null);
    recs.settle(rec.id, { applied: answer });
    onApplied(answer);
  };

  let body;
  if (!recs.live) body = <p className="muted" data-testid="recs-none">Suggestions come from the figures of a published version.</p>;
  else if (recs.error) body = <p className="muted" data-testid="recs-error">No suggestions: {recs.error}</p>;
  else if (!recs.recs.length) {
    body = (
      <p className="muted" data-testid="recs-none">
        No suggestions for v{recs.version}: not enough data, or no significant gap (thresholds: docs/recommendations.md).
      </p>
    );
  } else {
    body = (
      <>
      <p className="muted rec-intro">
        For v{recs.version}, the published version, from the last {recs.days} days&apos; figures:
      </p>
      <ul className="rec-list">
        {recs.recs.map((rec) => {
          const outcome = recs.outcomes[rec.id];
          return (
            <li key={rec.id} data-testid={`rec-${rec.kind}`} className={rec.node === focusNode ? "rec focused" : "rec"}>
              <div className="rec-head">
                <strong>{kindTitle(rec.kind)}</strong> <span className="muted">at</span> <code>{rec.node}</code>
                <span className="muted rec-kind">{rec.kind}</span>
              </div>
              <div className="rec-evidence" data-testid={`rec-evidence-${rec.kind}`}>
                {Object.entries(rec.evidence).filter(([k]) => k !== "message").map(([k, v]) => (
                  <span key={k} className="rec-figure">{k} <b>{figureText(k, v)}</b></span>
                ))}
              </div>
              <div className="rec-effect" data-testid={`rec-effect-${rec.kind}`}>{rec.expected_effect}</div>
              {outcome ? <Outcome outcome={outcome} /> : (
                <div className="rec-actions">
                  <button data-testid={`rec-apply-${rec.kind}`} onClick={() => setApplying(rec)} disabled={!rec.change.length}
                    title={rec.change.length ? "preview the change as a new draft" : "no automatic change fits: see the evidence"}>
                    Apply…
                  </button>
                  <button data-testid={`rec-dismiss-${rec.kind}`} onClick={() => setDismissing(rec)}>Dismiss…</button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
      </>
    );
  }
  return (
    <div className="recs" data-testid="recommendations">
      {body}
      {applying && (
        <ApplyDialog workflowId={workflowId} rec={applying} onApplied={(answer) => applied(applying, answer)}
          onCancel={() => setApplying(null)} />
      )}
      {dismissing && (
        <DismissDialog rec={dismissing} onDismiss={(reason) => dismiss(dismissing, reason)}
          onCancel={() => setDismissing(null)} />
      )}
    </div>
  );
}
