// Automatic top-to-bottom layout of a definition's graph with dagre: layered, no two cards overlapping,
// using each card's rendered size when known (React Flow measures them) and an estimate before that.
import { Graph, layout } from "@dagrejs/dagre";
import { TRIGGER, references } from "./graph.js";

export const CARD_WIDTH = 210; // .sy-node's fixed width (styles.css)
const CARD_HEIGHT = 66;

function entriesOf(definition) {
  const trigger = definition.trigger ? [[TRIGGER, { type: "trigger", start: definition.start }]] : [];
  return [...trigger, ...Object.entries(definition.nodes || {})];
}

// {id: {x, y}} (top-left corners, as React Flow wants) for every node and the trigger
export function dagreLayout(definition, sizes = {}) {
  const graph = new Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 36, ranksep: 34, edgesep: 16, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  const entries = entriesOf(definition);
  const ids = new Set(entries.map(([id]) => id));
  for (const [id] of entries) {
    const size = sizes[id] || {};
    graph.setNode(id, { width: size.width || CARD_WIDTH, height: size.height || CARD_HEIGHT });
  }
  for (const [id, node] of entries) {
    for (const ref of references(id, node)) {
      if (ref.target && ids.has(ref.target) && ref.target !== id && !graph.hasEdge(id, ref.target)) {
        graph.setEdge(id, ref.target);
      }
    }
  }
  layout(graph);
  const out = {};
  for (const [id] of entries) {
    const { x, y, width, height } = graph.node(id);
    out[id] = { x: Math.round(x - width / 2), y: Math.round(y - height / 2) };
  }
  return out;
}

function storedPosition(definition, id) {
  const p = definition.layout && typeof definition.layout === "object" ? definition.layout[id] : undefined;
  return p && typeof p.x === "number" && typeof p.y === "number" ? { x: p.x, y: p.y } : null;
}

// The stored `layout` when it places every node; when one has no place (a definition written by hand or
// published from the CLI), the whole graph is laid out automatically, so nothing lands on anything else.
export function positionsOf(definition, sizes = {}) {
  const ids = [...(definition.trigger ? [TRIGGER] : []), ...Object.keys(definition.nodes || {})];
  const stored = ids.map((id) => storedPosition(definition, id));
  if (stored.every(Boolean)) return Object.fromEntries(ids.map((id, i) => [id, stored[i]]));
  return dagreLayout(definition, sizes);
}
