// Forms for the node fields that used to be JSON text boxes: an action's params as key/value rows, a split's
// arms as rows of name, weight and next node (with the weights' total shown).
import React, { useEffect, useState } from "react";
import KeyValueRows, { fromRows, toRows } from "./KeyValueRows.jsx";
import "./forms.css";

export function ParamsField({ value, onChange }) {
  const [rows, setRows] = useState(() => toRows(value));
  const given = JSON.stringify(value ?? {});
  useEffect(() => {
    // changed from elsewhere (the template picker, undo): show it; an edit of ours reads back the same
    if (JSON.stringify(fromRows(rows)) !== given) setRows(toRows(value));
  }, [given]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <KeyValueRows testid="params" label="param" rows={rows} onChange={(next) => {
      // every row goes back into the params, but only an edited one is read from its text (fromRows): the
      // others keep their values exactly ("0042" stays a string)
      setRows(next);
      const params = fromRows(next);
      onChange(Object.keys(params).length ? params : undefined);
    }} />
  );
}

export function ArmsField({ value, nodeIds, onChange }) {
  const arms = Array.isArray(value) ? value : [];
  const put = (index, change) => onChange(arms.map((a, i) => (i === index ? { ...a, ...change } : a)));
  const total = arms.reduce((sum, a) => sum + (Number(a.weight) || 0), 0);
  return (
    <div className="arms" data-testid="arms">
      {arms.map((arm, i) => (
        <div key={i} className="settings-row" data-testid={`arm-${i}`}>
          <input aria-label="arm name" data-testid={`arm-name-${i}`} className="short" value={arm.name ?? ""}
            onChange={(e) => put(i, { name: e.target.value })} />
          <input aria-label="arm weight" data-testid={`arm-weight-${i}`} className="short" type="number" min={0} max={100}
            value={arm.weight ?? ""} onChange={(e) => put(i, { weight: e.target.value === "" ? undefined : Number(e.target.value) })} />%
          <select aria-label="arm next node" data-testid={`arm-next-${i}`} value={arm.next ?? ""}
            onChange={(e) => put(i, { next: e.target.value || undefined })}>
            <option value="">—</option>
            {nodeIds.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
          <button aria-label="remove arm" onClick={() => onChange(arms.filter((_, k) => k !== i))}>×</button>
        </div>
      ))}
      <button data-testid="arm-add" onClick={() => onChange([...arms, { name: String.fromCharCode(97 + arms.length), weight: 0 }])}>+ arm</button>
      <span className="muted" data-testid="arms-total"> arms total {total}% (with the holdout: 100)</span>
    </div>
  );
}
