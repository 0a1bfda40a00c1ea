// Key/value rows for a flat object (event properties, contact attributes, action params): a value typed into a
// row that reads as a number, true/false or null is sent as one, anything else as text. A row read from an
// object keeps that object's value (`original`) for as long as its text is not edited: saving the params
// after an edit of one row leaves every other value as it was, "0042" a string and a long number exact.
import React from "react";

// the text a row shows for a value
export function textOf(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function toRows(object) {
  return Object.entries(object || {}).map(([key, value]) => ({ key, value: textOf(value), original: value }));
}

export function valueOf(text) {
  const t = String(text).trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  if (t === "null") return null;
  if ((t.startsWith("[") || t.startsWith("{")) && t.length > 1) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

// a row's value: its original one while its text is the one it was read with (a renamed key keeps it
// too), else what its text reads as
function rowValue(row) {
  if ("original" in row && row.value === textOf(row.original)) return row.original;
  return valueOf(row.value);
}

export function fromRows(rows) {
  const out = {};
  for (const row of rows || []) if (row.key.trim()) out[row.key.trim()] = rowValue(row);
  return out;
}

export default function KeyValueRows({ rows, onChange, testid, label = "key" }) {
  const set = (index, change) => onChange(rows.map((r, i) => (i === index ? { ...r, ...change } : r)));
  return (
    <div className="kv-rows" data-testid={testid}>
      {rows.map((r, i) => (
        <div key={i} className="kv-row">
          <input aria-label={`${label} name`} data-testid={`${testid}-key-${i}`} placeholder={label} value={r.key}
            onChange={(e) => set(i, { key: e.target.value })} />
          <input aria-label={`${label} value`} data-testid={`${testid}-value-${i}`} placeholder="value" value={r.value}
            onChange={(e) => set(i, { value: e.target.value })} />
          <button aria-label={`remove ${label}`} onClick={() => onChange(rows.filter((_, k) => k !== i))}>×</button>
        </div>
      ))}
      <button data-testid={`${testid}-add`} onClick={() => onChange([...rows, { key: "", value: "" }])}>+ {label}</button>
    </div>
  );
}
