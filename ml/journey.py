"""The shape of a workflow definition as the recommendations need it: node order, edges, send nodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EDGE_KEYS = frozenset({"next", "on_event", "on_timeout", "on_true", "on_false", "default", "then", "else"})


def nodes_of(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = definition.get("nodes")
    return {str(k): v for k, v in nodes.items() if isinstance(v, dict)} if isinstance(nodes, dict) else {}


def successors(node: Mapping[str, Any], known: set[str]) -> list[str]:
    """Node ids this node can lead to (edge keys, and `next` inside lists such as split arms)."""
    out: list[str] = []
    for key, value in node.items():
        if key == "params":
            continue
        if key in EDGE_KEYS and isinstance(value, str) and value in known:
            out.append(value)
        elif isinstance(value, list):
            for item in value:
                target = item.get("next") if isinstance(item, dict) else None
                if isinstance(target, str) and target in known:
                    out.append(target)
    return list(dict.fromkeys(out))


def order(definition: Mapping[str, Any]) -> list[str]:
    """Node ids breadth-first from `start`, then the unreachable ones in definition order."""
    nodes = nodes_of(definition)
    known = set(nodes)
    start = definition.get("start")
    queue = [start] if isinstance(start, str) and start in known else []
    seen: list[str] = []
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.append(current)
        queue.extend(successors(nodes[current], known))
    return seen + [n for n in nodes if n not in seen]


def predecessors(definition: Mapping[str, Any], node_id: str) -> list[str]:
    nodes = nodes_of(definition)
    return [n for n, body in nodes.items() if node_id in successors(body, set(nodes))]


def is_send(node: Mapping[str, Any]) -> bool:
    return node.get("type") == "action" and str(node.get("action", "")).startswith("send_")


def fixed_wait_before(definition: Mapping[str, Any], node_id: str) -> str | None:
    """The wait node with a fixed `duration` that is the only way into `node_id`, if there is one."""
    before = predecessors(definition, node_id)
    if len(before) != 1:
        return None
    wait = nodes_of(definition)[before[0]]
    return before[0] if wait.get("type") == "wait" and "duration" in wait else None
