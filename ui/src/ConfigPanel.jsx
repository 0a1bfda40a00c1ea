// The configuration panel of the selected node, generated from the workflow JSON Schema
// ($defs/<type>_node); issues whose field points into a property are shown under that property.
// Conditions (filters, branch arms) get the row builder, event types the picker of types seen, and
// send_email nodes the template picker with a rendered preview.
import React, { useState } from "react";
import ConditionField, { BranchesField } from "./ConditionBuilder.jsx";
import { EventInput } from "./Pickers.jsx";
import { ArmsField, ParamsField } from "./RowFields.jsx";
import TemplatePreview from "./TemplatePreview.jsx";

const NODE_REF = "^[A-Za-z_][A-Za-z0-9_\\-]*$";
const SKIP = new Set(["type", "layout"]);

function kindOf(prop) {
  if (!prop) return "json";
  if (prop.enum) return "enum";
  if (prop.pattern === NODE_REF) return "node";
  if (prop.oneOf) return "text"; // durations: "2h" or ms
  const t = Array.isArray(prop.type) ? prop.type[0] : prop.type;
  if (t === "string") return "text";
  if (t === "integer" || t === "number") return "number";
  return "json";
}

function Field({ name, prop, value, required, nodeIds, issues, onChange }) {
  const kind = name === "event" && kindOf(prop) === "text" ? "event" : kindOf(prop);
  const id = `field-${name}`;
  let input;
  if (kind === "enum" || kind === "node") {
    const options = kind === "enum" ? prop.enum : nodeIds;
    input = (
      <select id={id} data-testid={id} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">—</option>
        {options.map((o) => (
          <option key={o} value={o}>{o}</option>
        ))}
      </select>
    );
  } else if (name === "params" || name === "arms") {
    input = name === "params" ? <ParamsField value={value} onChange={onChange} /> : <ArmsField value={value} nodeIds={nodeIds} onChange={onChange} />;
  } else if (kind === "json") {
    input = (
      <textarea
        key={JSON.stringify(value ?? null)}
        id={id}
        data-testid={id}
        rows={3}
        defaultValue={value === undefined ? "" : JSON.stringify(value, null, 1)}
        onBlur={(e) => {
          const text = e.target.value.trim();
          if (!text) return onChange(undefined);
          try {
            onChange(JSON.parse(text));
          } catch {
            e.target.classList.add("bad-json");
          }
        }}
      />
    );
  } else if (kind === "event") {
    input = <EventInput id={id} value={value} required={required} onChange={onChange} />;
  } else {
    input = (
      <input
        id={id}
        data-testid={id}
        value={value ?? ""}
        onChange={(e) => {
          const raw = e.target.value;
          onChange(kind === "number" && raw !== "" && !isNaN(Number(raw)) ? Number(raw) : raw || undefined);
        }}
      />
    );
  }
  return (
    <label className={`field ${issues.length ? "has-issue" : ""}`}>
      <span>
        {name}
        {required ? " *" : ""}
      </span>
      {input}
      {issues.map((issue, i) => (
        <em key={i} className="field-issue" data-testid={`issue-${name}`}>
          {issue.message}
        </em>
      ))}
    </label>
  );
}

// The node's id, renamed when the box loses focus (or on Enter; Escape puts the id back). A refused id
// (onRename returns why) is not kept in the box: the box shows the node's id and the reason shows below.
function NodeIdBox({ kind, id, onRename }) {
  const [problem, setProblem] = useState("");
  const commit = (box) => {
    const fresh = box.value.trim();
    if (fresh === id) {
      box.value = id;
      return;
    }
    const refused = onRename(id, fresh);
    setProblem(refused || "");
    if (refused) box.value = id;
  };
  return (
    <>
      <h3>
        {kind}: <input className="rename" data-testid="node-id" aria-label="Node id" defaultValue={id}
          aria-invalid={problem ? true : undefined} aria-describedby={problem ? "node-id-error" : undefined}
          onChange={() => problem && setProblem("")}
          onBlur={(e) => commit(e.target)}
          onKeyDown={(e) => {
            if (e.key === "Enter") e.currentTarget.blur();
            if (e.key === "Escape") {
              e.currentTarget.value = id;
              e.currentTarget.blur();
            }
          }} />
      </h3>
      {problem && <em id="node-id-error" className="field-issue" role="alert" data-testid="node-id-error">{problem}</em>}
    </>
  );
}

export default function ConfigPanel({ schema, definition, selected, issues, onNodeChange, onRename, onDelete }) {
  if (!selected) return <aside className="panel config"><p className="muted">Select a node to configure it.</p></aside>;
  const nodeIds = Object.keys(definition.nodes || {});
  const node = definition.nodes?.[selected];
  if (!node) return <aside className="panel config"><p className="muted">Select a node to configure it.</p></aside>;
  const nodeSchema = schema?.$defs?.[`${node.type}_node`] || { properties: {} };
  const required = new Set(nodeSchema.required || []);
  const prefix = `nodes.${selected}`;
  const mine = issues.filter((i) => i.node === selected);
  return (
    <aside className="panel config" data-testid="config-panel">
      <NodeIdBox key={selected} kind={node.type} id={selected} onRename={onRename} />
      {Object.entries(nodeSchema.properties || {})
        .filter(([name]) => !SKIP.has(name))
        .map(([name, prop]) => {
          const key = `${selected}-${name}`;
          const props = {
            name, value: node[name], required: required.has(name),
            issues: mine.filter((i) => i.field === `${prefix}.${name}` || i.field.startsWith(`${prefix}.${name}.`)),
            onChange: (v) => onNodeChange(selected, name, v),
          };
          const others = nodeIds.filter((n) => n !== selected);
          if (name === "filter") return <ConditionField key={key} {...props} eventType={node.event} />;
          if (name === "branches" && node.type === "branch") {
            return <BranchesField key={key} {...props} nodeIds={others} issues={mine} prefix={prefix} />;
          }
          return (
            <React.Fragment key={key}>
              <Field {...props} prop={prop} nodeIds={others} />
              {name === "action" && node.action === "send_email" && (
                <TemplatePreview key={`${selected}-preview`} params={node.params}
                  onParamsChange={(p) => onNodeChange(selected, "params", p)} />
              )}
            </React.Fragment>
          );
        })}
      {mine.filter((i) => !Object.keys(nodeSchema.properties || {}).some((n) => i.field.startsWith(`${prefix}.${n}`)))
        .map((i, k) => <em key={k} className="field-issue" data-testid="issue-node">{i.message}</em>)}
      <button className="danger" data-testid="delete-node" onClick={() => onDelete(selected)}>Delete node</button>
    </aside>
  );
}
