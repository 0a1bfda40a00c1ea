// Key/value rows for a flat object (event properties, contact attributes, action params): a value that reads
// as a number, true/false or null is sent as one, anything else as text.
import React from "react";

export function toRows(object) {
  return Object.entries(object || {}).map(([key, value]) => ({
    key,
    value: typeof value === "string" ? value : JSON.stringify(value),
  }));
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

export function fromRows(rows) {
  const out = {};
  for (const { key, value } of rows || []) if (key.trim()) out[key.trim()] = valueOf(value);
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
