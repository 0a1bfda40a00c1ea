// Copy and paste of canvas nodes: a copy keeps the selected nodes (with their params) and the edges between
// them; a paste adds them under fresh ids (`reminder_copy`, `reminder_copy_2`, ...), offset from the originals.
import { TRIGGER, references, setPath } from "./graph.js";

const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/; // the node-id pattern of the workflow schema
const OFFSET = 40; // px right and down per paste of the same copy

// The clip of `ids` (the trigger is not a node and is never copied), or null when nothing copyable is selected.
export function copyNodes(definition, ids, positions) {
  const chosen = ids.filter((id) => id !== TRIGGER && definition.nodes?.[id]);
  if (!chosen.length) return null;
  return {
    nodes: Object.fromEntries(chosen.map((id) => [id, structuredClone(definition.nodes[id])])),
    positions: Object.fromEntries(chosen.map((id) => [id, positions[id] || { x: 0, y: 0 }])),
    pastes: 0,
  };
}

// `<base>_copy`, then `<base>_copy_2`, ...: the first not in `taken`; a copy of a copy counts on from its base
export function freshId(id, taken) {
  const stem = id.replace(/_copy(_\d+)?$/, "");
  const base = NODE_ID.test(stem) ? stem : "node";
  let fresh = `${base}_copy`;
  for (let n = 2; taken.has(fresh); n += 1) fresh = `${base}_copy_${n}`;
  return fresh;
}

// The definition with the clip's nodes added (references between them renamed, references to nodes outside
// the clip dropped) and pinned `layout` positions; `round` is how many times this clip was pasted.
export function pasteNodes(definition, clip, layout, round) {
  const taken = new Set([TRIGGER, ...Object.keys(definition.nodes || {})]);
  const renamed = {};
  for (const id of Object.keys(clip.nodes)) {
    renamed[id] = freshId(id, taken);
    taken.add(renamed[id]);
  }
  const nodes = { ...(definition.nodes || {}) };
  const placed = { ...layout };
  for (const [id, node] of Object.entries(clip.nodes)) {
    let copy = structuredClone(node);
    for (const ref of references(id, node)) {
      if (ref.target) copy = setPath(copy, ref.field, renamed[ref.target]); // undefined drops the field
    }
    nodes[renamed[id]] = copy;
    const { x, y } = clip.positions[id];
    placed[renamed[id]] = { x: x + OFFSET * round, y: y + OFFSET * round };
  }
  return { definition: { ...definition, nodes, layout: placed }, ids: Object.values(renamed) };
}
