// A condition field edited as rows (field, operator, value) grouped by and/or, above the expression itself.
// The expression is what is saved: row edits write it (conditionText.js); an expression typed or loaded
// is read back into rows by the server with the engine's parser (POST /v1/conditions/explain), and one the
// rows cannot show stays in the expression box with the reason.
import React, { useEffect, useRef, useState } from "react";
import { callRetrying } from "./api.js";
import { groupText, LIST_OPS, NO_VALUE, TEXT_ONLY } from "./conditionText.js";
import { FieldInput } from "./Pickers.jsx";
import "./editing.css";

const OPERATOR_LABELS = [
  ["==", "is"], ["!=", "is not"], [">", "is more than"], [">=", "is at least"], ["<", "is less than"],
  ["<=", "is at most"], ["contains", "contains"], ["not contains", "does not contain"], ["in", "is one of"],
  ["not in", "is none of"], ["exists", "is set"], ["not exists", "is not set"], ["matches", "matches pattern"],
  ["not matches", "does not match pattern"],
];
const TYPES = [["text", "text"], ["number", "number / duration"], ["boolean", "true / false"]];
const NEW_ROW = { field: "", op: "==", type: "text", value: "" };
const EMPTY_GROUP = { op: "and", items: [] };

function valueInput(row, testId, onChange) {
  if (NO_VALUE.has(row.op)) return null;
  if (row.type === "boolean" && !LIST_OPS.has(row.op) && !TEXT_ONLY.has(row.op)) {
    return (
      <select data-testid={testId} aria-label="value" value={row.value ?? ""} onChange={(e) => onChange(e.target.value)}>
        <option value="">—</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  }
  const list = LIST_OPS.has(row.op);
  const shown = Array.isArray(row.value) ? row.value.join(", ") : row.value ?? "";
  return (
    <input data-testid={testId} aria-label="value" value={shown}
      placeholder={list ? "a, b, c" : row.type === "number" ? "42, 70%, 30d" : "value"}
      onChange={(e) => onChange(e.target.value)} />
  );
}

function Row({ row, prefix, eventType, onChange, onRemove }) {
  const set = (key) => (v) => onChange({ ...row, [key]: v });
  return (
    <div className="cond-row" data-testid={`${prefix}-row`}>
      <FieldInput testId={`${prefix}-field`} value={row.field} eventType={eventType} onChange={set("field")} />
      <div className="cond-row-line">
        <select data-testid={`${prefix}-op`} aria-label="operator" value={row.op} onChange={(e) => set("op")(e.target.value)}>
          {OPERATOR_LABELS.map(([op, label]) => <option key={op} value={op}>{label}</option>)}
        </select>
        {!NO_VALUE.has(row.op) && !TEXT_ONLY.has(row.op) && (
          <select data-testid={`${prefix}-type`} aria-label="value type" value={row.type === "none" ? "text" : row.type}
            onChange={(e) => set("type")(e.target.value)}>
            {TYPES.map(([t, label]) => <option key={t} value={t}>{label}</option>)}
          </select>
        )}
        <button type="button" className="cond-remove" data-testid={`${prefix}-remove`} aria-label="remove condition"
          onClick={onRemove}>✕</button>
      </div>
      {valueInput(row, `${prefix}-value`, set("value"))}
    </div>
  );
}

function Group({ group, prefix, eventType, nested, onChange }) {
  const setItem = (i, item) => onChange({ ...group, items: group.items.map((x, k) => (k === i ? item : x)) });
  const remove = (i) => onChange({ ...group, items: group.items.filter((_, k) => k !== i) });
  const add = (item) => onChange({ ...group, items: [...group.items, item] });
  return (
    <div className={nested ? "cond-group nested" : "cond-group"} data-testid={`${prefix}-group`}>
      {group.items.length > 1 && (
        <select data-testid={`${prefix}-join`} aria-label="combine with" value={group.op}
          onChange={(e) => onChange({ ...group, op: e.target.value })}>
          <option value="and">All of these (and)</option>
          <option value="or">Any of these (or)</option>
        </select>
      )}
      {group.items.map((item, i) => (
        <React.Fragment key={i}>
          {i > 0 && <div className="cond-join-word">{group.op}</div>}
          {item.items ? (
            <Group group={item} prefix={`${prefix}-${i}`} eventType={eventType} nested onChange={(g) => setItem(i, g)} />
          ) : (
            <Row row={item} prefix={`${prefix}-${i}`} eventType={eventType} onChange={(r) => setItem(i, r)}
              onRemove={() => remove(i)} />
          )}
        </React.Fragment>
      ))}
      <div className="cond-actions">
        <button type="button" data-testid={`${prefix}-add`} onClick={() => add({ ...NEW_ROW })}>+ condition</button>
        {!nested && (
          <button type="button" data-testid={`${prefix}-add-group`}
            onClick={() => add({ op: group.op === "and" ? "or" : "and", items: [{ ...NEW_ROW }] })}>+ group</button>
        )}
        {nested && <button type="button" data-testid={`${prefix}-remove-group`} onClick={() => onChange(null)}>remove group</button>}
      </div>
    </div>
  );
}

// drop emptied nested groups (a nested Group reports null when removed)
function pruned(group) {
  return { ...group, items: group.items.filter(Boolean).map((item) => (item.items ? pruned(item) : item)) };
}

export default function ConditionField({ name, label, value, required, issues = [], eventType, onChange }) {
  const text = value === undefined || value === null ? "" : String(value);
  const [rows, setRows] = useState(text ? null : EMPTY_GROUP);
  const [showRows, setShowRows] = useState(true);
  const [note, setNote] = useState("");
  const [rowError, setRowError] = useState("");
  const emitted = useRef(null); // the text the rows last wrote: no need to read it back
  const testId = `cond-${name.replace(/\./g, "-")}`;

  useEffect(() => {
    if (text === emitted.current) return undefined;
    if (!text.trim()) {
      setRows(EMPTY_GROUP);
      setNote("");
      return undefined;
    }
    let live = true;
    const timer = setTimeout(async () => {
      const r = await callRetrying("POST", "/v1/conditions/explain", { expression: text });
      if (!live) return;
      if (!r.ok) return setNote(r.data.message || "cannot read the expression: the worker did not answer");
      setRows(r.data.rows);
      setRowError("");
      setNote(r.data.rows ? "" : r.data.valid ? r.data.reason : `not valid yet: ${r.data.error.message}`);
    }, 250);
    return () => { live = false; clearTimeout(timer); };
  }, [text]);

  const editRows = (next) => {
    const group = pruned(next);
    setRows(group);
    if (!group.items.length) {
      setRowError("");
      emitted.current = "";
      return onChange(undefined);
    }
    try {
      const compiled = groupText(group);
      setRowError("");
      emitted.current = compiled;
      onChange(compiled);
    } catch (e) {
      setRowError(e.message);
    }
  };

  return (
    <div className={`field cond ${issues.length ? "has-issue" : ""}`} data-testid={testId}>
      <span className="cond-head">
        {label || name}{required ? " *" : ""}
        <button type="button" className="cond-toggle" data-testid={`${testId}-toggle`} aria-pressed={showRows}
          onClick={() => setShowRows(!showRows)}>{showRows ? "Hide rows" : "Build with rows"}</button>
      </span>
      {showRows && rows && (
        <Group group={rows} prefix={testId} eventType={eventType} onChange={editRows} />
      )}
      {showRows && !rows && note && (
        <button type="button" data-testid={`${testId}-restart`} onClick={() => { setNote(""); setRows(EMPTY_GROUP); }}>
          Start again with rows (replaces the expression)
        </button>
      )}
      {rowError && <em className="cond-note" data-testid={`${testId}-row-error`}>{rowError}</em>}
      {note && <em className="cond-note" data-testid={`${testId}-note`}>{note}</em>}
      <label className="cond-raw">
        <small>expression (saved as written)</small>
        <input id={`field-${name}`} data-testid={`field-${name}`} value={text} spellCheck={false}
          onChange={(e) => { emitted.current = null; onChange(e.target.value || undefined); }} />
      </label>
      {issues.map((issue, i) => (
        <em key={i} className="field-issue" data-testid={`issue-${name}`}>{issue.message}</em>
      ))}
    </div>
  );
}

// A branch node's arms: each a condition (rows or expression) and the node it leads to, in order.
export function BranchesField({ value, nodeIds, issues, prefix, onChange }) {
  const arms = Array.isArray(value) ? value : [];
  const setArm = (i, arm) => onChange(arms.map((a, k) => (k === i ? arm : a)));
  return (
    <div className="field branches" data-testid="field-branches">
      <span>branches *</span>
      {arms.map((arm, i) => (
        <div className="branch-arm" key={i} data-testid={`branch-${i}`}>
          <ConditionField name={`branches.${i}.when`} label={`Branch ${i + 1}: when`} value={arm.when} required
            issues={issues.filter((x) => x.field === `${prefix}.branches.${i}.when` || x.field.startsWith(`${prefix}.branches.${i}.when.`))}
            onChange={(when) => setArm(i, { ...arm, when })} />
          <label className="branch-next">then go to
            <select data-testid={`branch-${i}-next`} value={arm.next ?? ""} onChange={(e) => setArm(i, { ...arm, next: e.target.value })}>
              <option value="">—</option>
              {nodeIds.map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
            <button type="button" data-testid={`branch-${i}-remove`} aria-label={`remove branch ${i + 1}`}
              onClick={() => onChange(arms.filter((_, k) => k !== i))}>✕</button>
          </label>
        </div>
      ))}
      <button type="button" data-testid="branch-add" onClick={() => onChange([...arms, { when: "", next: "" }])}>+ branch</button>
    </div>
  );
}
