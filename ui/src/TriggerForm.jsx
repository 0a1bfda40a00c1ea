// The trigger panel: every trigger kind the engine compiles (engine/compile_triggers.py TRIGGER_FIELDS) as a
// form, several triggers at once (one is stored as an object, several as a list), and the start node.
// Issues are shown on the trigger (trigger.<field> or trigger.<index>.<field>) they belong to.
// The event type is picked from the types the stream carried, and filters and conditions are built as rows
// (ConditionBuilder.jsx), the expression staying visible and editable.
import React from "react";
import ConditionField from "./ConditionBuilder.jsx";
import { EventInput } from "./Pickers.jsx";
import "./forms.css";

// per kind, its fields: [name, label, input kind, placeholder]
export const KIND_FIELDS = {
  event: [["event", "event type", "text", "cart.created"], ["times", "times", "number", "3"], ["within", "within", "text", "7d"]],
  schedule: [["schedule", "cron (min hour day month weekday)", "text", "0 9 * * mon"], ["timezone", "timezone", "text", "UTC, Europe/Paris or contact"]],
  at: [["at", "at (ISO 8601 time)", "text", "2026-05-01T09:00:00Z"]],
  date: [["date", "date (contact.<attr> or event.<prop>)", "text", "contact.renewal_date"], ["when", "when", "offset", ""],
    ["event", "events carrying the date", "list", "task.created, task.updated"], ["key", "key", "text", "task_id"],
    ["cancel_on", "cancel on", "list", "task.done"]],
  inactivity: [["inactivity", "inactive for", "text", "30d"], ["events", "activity that counts", "list", "email.opened, page.viewed"]],
  condition: [["condition", "condition", "text", "contact.plan == 'pro'"]],
  score: [["score", "score name", "text", "churn_risk"], ["above", "above", "number", "0.7"]],
};
const FILTERED = new Set(["event", "schedule", "at", "date", "inactivity", "score"]);
const DEFAULTS = {
  event: { event: "" },
  schedule: { schedule: "0 9 * * mon", timezone: "UTC" },
  at: { at: "" },
  date: { date: "contact.", before: "1d" },
  inactivity: { inactivity: "30d", events: [] },
  condition: { condition: "" },
  score: { score: "", above: 0.5 },
};

export function kindOf(trigger) {
  if (trigger?.date !== undefined) return "date";
  return Object.keys(KIND_FIELDS).find((k) => trigger?.[k] !== undefined) || "event";
}

export function triggersOf(definition) {
  if (Array.isArray(definition.trigger)) return definition.trigger;
  return definition.trigger ? [definition.trigger] : [];
}

function withValue(trigger, name, value) {
  const next = { ...trigger };
  if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) delete next[name];
  else next[name] = value;
  return next;
}

function listText(value) {
  return Array.isArray(value) ? value.join(", ") : value ?? "";
}

function testid(index, name) {
  return index === 0 ? `field-${name}` : `field-${name}-${index}`;
}

function KindField({ index, trigger, field, onChange }) {
  const [name, label, kind, placeholder] = field;
  const id = testid(index, name);
  if (name === "event" && kind === "text") {
    return (
      <label className="field"><span>{label}</span>
        <EventInput id={id} value={trigger.event} onChange={(v) => onChange(withValue(trigger, "event", v))} />
      </label>
    );
  }
  if (name === "filter" || name === "condition") {
    // its issues are listed under the trigger card with the others
    return (
      <ConditionField name={index === 0 ? name : `${name}-${index}`} label={label} value={trigger[name]}
        eventType={trigger.event} onChange={(v) => onChange(withValue(trigger, name, v))} />
    );
  }
  if (kind === "offset") {
    const direction = trigger.after !== undefined ? "after" : "before";
    return (
      <label className="field"><span>{label}</span>
        <span className="inline">
          <input aria-label="offset" data-testid={testid(index, "offset")} placeholder="1d" value={trigger[direction] ?? ""}
            onChange={(e) => onChange(withValue(withValue(trigger, "before", undefined), direction, e.target.value || undefined))} />
          <select aria-label="before or after" data-testid={testid(index, "direction")} value={direction} onChange={(e) => {
            const amount = trigger[direction];
            onChange(withValue(withValue(trigger, direction, undefined), e.target.value, amount));
          }}>
            <option value="before">before the date</option>
            <option value="after">after the date</option>
          </select>
        </span>
      </label>
    );
  }
  const parse = (raw) => {
    if (kind === "list") return raw.split(",").map((s) => s.trim()).filter(Boolean);
    if (kind === "number") return raw !== "" && !isNaN(Number(raw)) ? Number(raw) : raw || undefined;
    return raw;
  };
  // a list is typed as text ("a, b"): the box keeps what is typed (its commas), the definition the names
  const shown = kind === "list" ? { defaultValue: listText(trigger[name]) } : { value: trigger[name] ?? "" };
  return (
    <label className="field"><span>{label}</span>
      <input id={id} data-testid={id} placeholder={placeholder} {...shown}
        onChange={(e) => onChange(withValue(trigger, name, parse(e.target.value)))} />
    </label>
  );
}

export default function TriggerForm({ definition, issues, onChange }) {
  const triggers = triggersOf(definition);
  const list = triggers.length ? triggers : [{ event: "" }];
  const many = Array.isArray(definition.trigger);
  const nodeIds = Object.keys(definition.nodes || {});
  const save = (next, start = definition.start) => onChange(next.length > 1 ? next : next[0] || { event: "" }, start);
  const setAt = (index, trigger) => save(list.map((t, i) => (i === index ? trigger : t)));
  const issuesOf = (index) => issues.filter((i) => {
    if (!i.field.startsWith("trigger")) return false;
    if (!many) return true;
    return i.field === "trigger" ? index === 0 : i.field.startsWith(`trigger.${index}`) || (index === 0 && !/^trigger\.\d/.test(i.field));
  });
  return (
    <aside className="panel config" data-testid="config-panel">
      <h3>{list.length > 1 ? `${list.length} triggers` : "trigger"}</h3>
      {list.map((trigger, index) => {
        const kind = kindOf(trigger);
        return (
          <fieldset key={index} className="trigger-card" data-testid={`trigger-${index}`}>
            <legend>
              <select aria-label="trigger kind" data-testid={testid(index, "kind")} value={kind}
                onChange={(e) => setAt(index, { ...structuredClone(DEFAULTS[e.target.value]), ...(trigger.filter && FILTERED.has(e.target.value) ? { filter: trigger.filter } : {}) })}>
                {Object.keys(KIND_FIELDS).map((k) => <option key={k} value={k}>{k}</option>)}
              </select>
              {list.length > 1 && (
                <button aria-label="remove trigger" data-testid={`remove-trigger-${index}`}
                  onClick={() => save(list.filter((_, i) => i !== index))}>×</button>
              )}
            </legend>
            {KIND_FIELDS[kind].map((field) => (
              <KindField key={`${kind}-${field[0]}`} index={index} trigger={trigger} field={field} onChange={(t) => setAt(index, t)} />
            ))}
            {FILTERED.has(kind) && (
              <KindField index={index} trigger={trigger} field={["filter", "only when (condition)", "text", "event.amount > 50"]}
                onChange={(t) => setAt(index, t)} />
            )}
            {issuesOf(index).map((i, k) => (
              <em key={k} className="field-issue" data-testid={index === 0 ? "issue-trigger" : `issue-trigger-${index}`}>{i.message}{i.hint ? ` (${i.hint})` : ""}</em>
            ))}
          </fieldset>
        );
      })}
      <button data-testid="add-trigger" onClick={() => save([...list, { event: "" }])}>+ another trigger</button>
      <label className="field"><span>start *</span>
        <select id="field-start" data-testid="field-start" value={definition.start ?? ""}
          onChange={(e) => onChange(definition.trigger || list[0], e.target.value || undefined)}>
          <option value="">—</option>
          {nodeIds.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </label>
      {issues.filter((i) => i.field === "start").map((i, k) => <em key={k} className="field-issue" data-testid="issue-start">{i.message}</em>)}
    </aside>
  );
}
