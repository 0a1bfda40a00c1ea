// Definition <-> canvas: nodes and edges derived from the workflow definition (the semantics); positions
// come from its separate `layout` key or the automatic layout (layout.js).
export const TRIGGER = "__trigger__";
export const NODE_TYPES = ["trigger", "branch", "wait", "wait_for", "split", "action", "goal", "exit"];

// Outgoing references of a node: [{field, label, target}] where field is the dotted path to set.
export function references(id, node) {
  const refs = [];
  const add = (field, label, target) => refs.push({ field, label, target });
  if (id === TRIGGER) {
    add("start", "start", node.start);
    return refs;
  }
  if (node.next !== undefined || ["wait", "action"].includes(node.type)) add("next", "", node.next);
  if (node.type === "wait_for") {
    add("on_event", "event", node.on_event);
    add("on_timeout", "timeout", node.on_timeout);
  }
  (node.branches || []).forEach((b, i) => add(`branches.${i}.next`, String(b.when ?? ""), b.next));
  (node.cases || []).forEach((c, i) => add(`cases.${i}.next`, `= ${JSON.stringify(c.equals)}`, c.next));
  (node.arms || []).forEach((a, i) => add(`arms.${i}.next`, a.name || `arm ${i}`, a.next));
  if (["branch", "switch"].includes(node.type)) add("default", "default", node.default);
  return refs;
}

export function getPath(object, dotted) {
  return dotted.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
}

export function setPath(object, dotted, value) {
  const parts = dotted.split(".");
  const copy = Array.isArray(object) ? [...object] : { ...object };
  const [head, ...rest] = parts;
  if (rest.length === 0) {
    if (value === undefined || value === "") delete copy[head];
    else copy[head] = value;
    return copy;
  }
  copy[head] = setPath(copy[head] ?? (/^\d+$/.test(rest[0]) ? [] : {}), rest.join("."), value);
  return copy;
}

// A node id as the engine takes it (engine/compile_nodes.py NODE_ID, the schema's `nodes` property names).
export const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

// Why node `old` of `definition` cannot be renamed to `fresh` (a sentence), or "" when it can.
export function renameProblem(definition, old, fresh) {
  if (fresh === old) return "";
  if (!fresh) return "a node needs an id";
  if (!NODE_ID.test(fresh)) {
    return `"${fresh}" is not a valid node id: use letters, digits, _ and - (starting with a letter or _)`;
  }
  if (fresh === TRIGGER) return `"${fresh}" is the trigger's id on the canvas`;
  if (Object.hasOwn(definition.nodes || {}, fresh)) return `there is already a node "${fresh}"`;
  return "";
}

// `definition` with node `old` renamed to `fresh` (check renameProblem first): its entry keeps its place,
// and only the fields that refer to a node by id follow it (`start` and each node's references(): next,
// on_event, on_timeout, branches/cases/arms next, default), with its position in `layout`. Params, texts
// and conditions that happen to equal the old id are left alone.
export function renameNode(definition, old, fresh) {
  if (!Object.hasOwn(definition.nodes || {}, old) || renameProblem(definition, old, fresh) || fresh === old) return definition;
  const nodes = {};
  for (const [id, node] of Object.entries(definition.nodes)) {
    let renamed = node;
    for (const ref of references(id, node)) if (ref.target === old) renamed = setPath(renamed, ref.field, fresh);
    nodes[id === old ? fresh : id] = renamed;
  }
  const out = { ...definition, nodes };
  if (definition.start === old) out.start = fresh;
  const layout = definition.layout;
  if (layout && (Object.hasOwn(layout, old) || Object.hasOwn(layout, fresh))) {
    out.layout = {};
    for (const [id, place] of Object.entries(layout)) {
      if (id !== fresh) out.layout[id === old ? fresh : id] = place; // a place under `fresh` was a deleted node's
    }
  }
  return out;
}
