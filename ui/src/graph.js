// Definition <-> canvas: nodes and edges derived from the workflow definition (the semantics), positions
// from its separate `layout` key, with an automatic layered layout for nodes that have none (e.g. a
// definition published from the CLI).
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

export function autoLayout(definition) {
  const nodes = definition.nodes || {};
  const depth = { [TRIGGER]: 0 };
  const queue = [[TRIGGER, { start: definition.start }]];
  while (queue.length) {
    const [id, node] = queue.shift();
    for (const ref of references(id, node)) {
      if (ref.target && nodes[ref.target] && depth[ref.target] === undefined) {
        depth[ref.target] = depth[id] + 1;
        queue.push([ref.target, nodes[ref.target]]);
      }
    }
  }
  const deepest = Math.max(...Object.values(depth));
  for (const id of Object.keys(nodes)) if (depth[id] === undefined) depth[id] = deepest + 1;
  const rows = {};
  const positions = {};
  for (const id of [TRIGGER, ...Object.keys(nodes)]) {
    const d = depth[id];
    rows[d] = (rows[d] || 0) + 1;
    positions[id] = { x: 40 + (rows[d] - 1) * 230, y: 30 + d * 130 };
  }
  return positions;
}

export function positionsOf(definition) {
  const auto = autoLayout(definition);
  const stored = definition.layout && typeof definition.layout === "object" ? definition.layout : {};
  const out = {};
  for (const id of [TRIGGER, ...Object.keys(definition.nodes || {})]) {
    const p = stored[id];
    out[id] = p && typeof p.x === "number" && typeof p.y === "number" ? { x: p.x, y: p.y } : auto[id];
  }
  return out;
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
