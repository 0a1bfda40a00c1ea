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
