// Workflow settings as a form: name and description, and every key engine/compile_settings.py accepts
// (re-entry, run_key, exit criteria, quiet hours, frequency caps, max_runs, step and action limits). Channel
// lists come from the workflow JSON Schema; issues under settings.<key> are shown on their section.
import React from "react";
import "./forms.css";

const FALLBACK_CHANNELS = ["crm", "document", "email", "notify", "push", "sms", "task", "webhook"];

function channelsOf(schema) {
  return schema?.$defs?.settings?.properties?.quiet_hours?.properties?.channels?.items?.enum || FALLBACK_CHANNELS;
}

// the settings with `key` set to `value`, or without it when the value is empty
function withKey(settings, key, value) {
  const next = { ...settings };
  const empty = value === undefined || value === "" || (typeof value === "object" && value !== null && !Array.isArray(value) && !Object.keys(value).length)
    || (Array.isArray(value) && !value.length);
  if (empty) delete next[key];
  else next[key] = value;
  return next;
}

function numberOr(raw) {
  return raw !== "" && !isNaN(Number(raw)) ? Number(raw) : raw || undefined;
}

function Issues({ issues, prefix, testid }) {
  const mine = issues.filter((i) => i.field === prefix || i.field.startsWith(`${prefix}.`));
  return mine.map((i, k) => <em key={k} className="field-issue" data-testid={testid}>{i.message}{i.hint ? ` (${i.hint})` : ""}</em>);
}

function exitRows(value) {
  return (Array.isArray(value) ? value : value ? [value] : []);
}

export default function SettingsPanel({ schema, definition, issues, onTop, onSettings }) {
  const settings = definition.settings || {};
  const set = (key, value) => onSettings(withKey(settings, key, value));
  const channels = channelsOf(schema);
  const reentry = typeof settings.reentry === "string" ? settings.reentry : "never";
  const reentryMode = reentry.startsWith("after") ? "after" : reentry;
  const exits = exitRows(settings.exit_when);
  const setExits = (rows) => set("exit_when", rows);
  const quiet = settings.quiet_hours;
  const caps = settings.frequency_caps || {};
  const maxRuns = settings.max_runs || {};
  return (
    <aside className="panel config settings-panel" data-testid="settings-panel">
      <h3>Workflow settings</h3>
      <label className="field"><span>name</span>
        <input data-testid="setting-name" value={definition.name ?? ""} onChange={(e) => onTop("name", e.target.value || undefined)} /></label>
      <label className="field"><span>description</span>
        <textarea data-testid="setting-description" rows={2} value={definition.description ?? ""}
          onChange={(e) => onTop("description", e.target.value || undefined)} /></label>

      <fieldset><legend>Re-entry</legend>
        <select aria-label="re-entry" data-testid="setting-reentry" value={reentryMode}
          onChange={(e) => set("reentry", e.target.value === "after" ? "after 30d" : e.target.value === "never" ? undefined : e.target.value)}>
          <option value="never">never: once per contact</option>
          <option value="always">always</option>
          <option value="after">again after…</option>
        </select>
        {reentryMode === "after" && (
          <input aria-label="re-entry after" data-testid="setting-reentry-after" className="short" value={reentry.replace(/^after\s*/, "")}
            onChange={(e) => set("reentry", `after ${e.target.value}`)} />
        )}
        <Issues issues={issues} prefix="settings.reentry" testid="issue-reentry" />
        <label className="field"><span>one run per value of (run_key)</span>
          <input data-testid="setting-run_key" placeholder="cart_id" value={settings.run_key ?? ""} onChange={(e) => set("run_key", e.target.value)} /></label>
        <Issues issues={issues} prefix="settings.run_key" testid="issue-run_key" />
        <span className="inline">at most <input aria-label="max runs" data-testid="setting-max_runs-max" className="short" value={maxRuns.max ?? ""}
          onChange={(e) => set("max_runs", withKey(maxRuns, "max", numberOr(e.target.value)))} /> runs per
        <input aria-label="max runs per" data-testid="setting-max_runs-per" className="short" placeholder="1d" value={maxRuns.per ?? ""}
          onChange={(e) => set("max_runs", withKey(maxRuns, "per", e.target.value))} /></span>
        <Issues issues={issues} prefix="settings.max_runs" testid="issue-max_runs" />
      </fieldset>

      <fieldset><legend>Exit when</legend>
        {exits.map((row, i) => {
          const kind = row.condition !== undefined ? "condition" : "event";
          const put = (next) => setExits(exits.map((r, k) => (k === i ? next : r)));
          return (
            <div key={i} className="settings-row" data-testid={`exit-${i}`}>
              <select aria-label="exit kind" data-testid={`exit-kind-${i}`} value={kind}
                onChange={(e) => put(e.target.value === "event" ? { event: "" } : { condition: "" })}>
                <option value="event">event</option>
                <option value="condition">condition</option>
              </select>
              <input aria-label={kind} data-testid={`exit-value-${i}`} placeholder={kind === "event" ? "unsubscribed" : "'customer' in contact.tags"}
                value={row[kind] ?? ""} onChange={(e) => put({ ...row, [kind]: e.target.value })} />
              {kind === "event" && (
                <input aria-label="exit filter" data-testid={`exit-filter-${i}`} placeholder="only when (condition)" value={row.filter ?? ""}
                  onChange={(e) => put(withKey(row, "filter", e.target.value))} />
              )}
              <button aria-label="remove exit" onClick={() => setExits(exits.filter((_, k) => k !== i))}>×</button>
            </div>
          );
        })}
        <button data-testid="add-exit" onClick={() => setExits([...exits, { event: "" }])}>+ exit criterion</button>
        <Issues issues={issues} prefix="settings.exit_when" testid="issue-exit_when" />
      </fieldset>

      <fieldset><legend>
        <label><input type="checkbox" data-testid="setting-quiet" checked={!!quiet}
          onChange={(e) => set("quiet_hours", e.target.checked ? { start: "21:00", end: "08:00", fallback: "delay" } : undefined)} /> Quiet hours</label>
      </legend>
        {quiet && (
          <>
            <span className="inline">from <input aria-label="quiet from" data-testid="setting-quiet-start" className="short" value={quiet.start ?? ""}
              onChange={(e) => set("quiet_hours", { ...quiet, start: e.target.value })} /> to
            <input aria-label="quiet to" data-testid="setting-quiet-end" className="short" value={quiet.end ?? ""}
              onChange={(e) => set("quiet_hours", { ...quiet, end: e.target.value })} />
            <select aria-label="quiet fallback" data-testid="setting-quiet-fallback" value={quiet.fallback ?? "delay"}
              onChange={(e) => set("quiet_hours", { ...quiet, fallback: e.target.value })}>
              <option value="delay">delay until they end</option>
              <option value="skip">skip the message</option>
            </select></span>
            <div className="channels">
              {channels.map((c) => (
                <label key={c}><input type="checkbox" data-testid={`setting-quiet-channel-${c}`} checked={(quiet.channels || []).includes(c)}
                  onChange={(e) => set("quiet_hours", withKey(quiet, "channels", e.target.checked ? [...(quiet.channels || []), c] : (quiet.channels || []).filter((x) => x !== c)))} /> {c}</label>
              ))}
              <span className="muted"> (none ticked: email, sms, push)</span>
            </div>
          </>
        )}
        <Issues issues={issues} prefix="settings.quiet_hours" testid="issue-quiet_hours" />
      </fieldset>

      <fieldset><legend>Frequency caps</legend>
        {Object.entries(caps).map(([channel, cap], i) => {
          const put = (nextChannel, nextCap) => {
            const entries = Object.entries(caps).map(([c, v], k) => (k === i ? [nextChannel, nextCap] : [c, v]));
            set("frequency_caps", Object.fromEntries(entries));
          };
          return (
            <div key={i} className="settings-row" data-testid={`cap-${i}`}>
              <select aria-label="cap channel" data-testid={`cap-channel-${i}`} value={channel} onChange={(e) => put(e.target.value, cap)}>
                {channels.map((c) => <option key={c} value={c} disabled={c !== channel && c in caps}>{c}</option>)}
              </select>
              at most <input aria-label="cap max" data-testid={`cap-max-${i}`} className="short" value={cap.max ?? ""}
                onChange={(e) => put(channel, { ...cap, max: numberOr(e.target.value) })} /> per
              <input aria-label="cap per" data-testid={`cap-per-${i}`} className="short" value={cap.per ?? ""}
                onChange={(e) => put(channel, { ...cap, per: e.target.value })} />
              <button aria-label="remove cap" onClick={() => set("frequency_caps", Object.fromEntries(Object.entries(caps).filter((_, k) => k !== i)))}>×</button>
            </div>
          );
        })}
        {channels.some((c) => !(c in caps)) && (
          <button data-testid="add-cap" onClick={() => set("frequency_caps", { ...caps, [channels.find((c) => !(c in caps))]: { max: 3, per: "7d" } })}>+ cap</button>
        )}
        <Issues issues={issues} prefix="settings.frequency_caps" testid="issue-frequency_caps" />
      </fieldset>

      <fieldset><legend>Limits</legend>
        <label className="field"><span>max steps per event</span>
          <input data-testid="setting-max_steps" value={settings.max_steps ?? ""} onChange={(e) => set("max_steps", numberOr(e.target.value))} /></label>
        <label className="field"><span>max actions per event</span>
          <input data-testid="setting-max_actions_per_event" value={settings.max_actions_per_event ?? ""}
            onChange={(e) => set("max_actions_per_event", numberOr(e.target.value))} /></label>
        <Issues issues={issues} prefix="settings.max_steps" testid="issue-max_steps" />
        <Issues issues={issues} prefix="settings.max_actions_per_event" testid="issue-max_actions" />
      </fieldset>
      <Issues issues={issues.filter((i) => i.field === "settings")} prefix="settings" testid="issue-settings" />
    </aside>
  );
}
