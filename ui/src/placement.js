// Where a node added from the keyboard goes: below the anchor node (the selected one, else the lowest),
// moved further down until its box overlaps no other card.
const CARD = { width: 210, height: 90 }; // a card not measured yet
const GAP = 50;

function boxOf(id, positions, sizes) {
  const { x, y } = positions[id];
  const { width, height } = sizes[id] || CARD;
  return { x, y, width, height };
}

function overlaps(a, b) {
  return a.x < b.x + b.width + 10 && b.x < a.x + a.width + 10 && a.y < b.y + b.height + 10 && b.y < a.y + a.height + 10;
}

export function freePosition(positions, sizes, anchor) {
  const ids = Object.keys(positions);
  if (!ids.length) return { x: 250, y: 60 };
  const from = anchor && positions[anchor]
    ? anchor
    : ids.reduce((low, id) => (positions[id].y > positions[low].y ? id : low), ids[0]);
  const box = boxOf(from, positions, sizes);
  const spot = { x: box.x, y: box.y + box.height + GAP, ...CARD };
  const others = ids.map((id) => boxOf(id, positions, sizes));
  while (others.some((other) => overlaps(spot, other))) spot.y += CARD.height / 2;
  return { x: spot.x, y: spot.y };
}
