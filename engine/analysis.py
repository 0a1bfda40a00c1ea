"""Static analysis of a compiled graph: dangling edges, unreachable nodes, cycles without a wait,
and the longest path a run can take without waiting or repeating itself."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from engine.compile_common import Reader
from engine.issues import did_you_mean
from engine.model import (
    ActionNode,
    BranchNode,
    EventTrigger,
    GoalNode,
    Node,
    SplitNode,
    SwitchNode,
    Trigger,
    WaitForNode,
    WaitNode,
)

WAITING_TYPES = (WaitNode, WaitForNode)


def successors(node: Node) -> list[str]:
    """Node ids an edge of ``node`` leads to, in definition order."""
    if isinstance(node, (WaitNode, ActionNode)):
        return [node.next] if node.next else []
    if isinstance(node, WaitForNode):
        return [target for target in (node.on_event, node.on_timeout) if target]
    if isinstance(node, BranchNode):
        return [b.next for b in node.branches if b.next] + ([node.default] if node.default else [])
    if isinstance(node, SwitchNode):
        return [c.next for c in node.cases if c.next] + ([node.default] if node.default else [])
    if isinstance(node, SplitNode):
        return [arm.next for arm in node.arms if arm.next]
    return []


def report_dangling_edges(reader: Reader, node_ids: Collection[str]) -> bool:
    """Report every edge to a node that does not exist; returns whether there was one."""
    dangling = False
    for source, path, target in reader.edges:
        if target not in node_ids:
            dangling = True
            hint = did_you_mean(target, node_ids) or "name one of the nodes under 'nodes'"
            reader.issues.add(path, f"edge leads to unknown node '{target}'", hint, node_id=source)
    return dangling


def analyse(reader: Reader, start: str | None, nodes: dict[str, Node], max_steps: int) -> None:
    issues = reader.issues
    dangling = report_dangling_edges(reader, nodes)
    if start is None:
        return
    if start not in nodes:
        issues.add(
            ("start",),
            f"start node '{start}' does not exist",
            did_you_mean(start, nodes) or "name one of the nodes under 'nodes'",
            node_id=None,
        )
        return
    graph = {node_id: [t for t in successors(node) if t in nodes] for node_id, node in nodes.items()}
    roots = [start] + [n.id for n in nodes.values() if isinstance(n, GoalNode) and n.event_type]
    reached = _reachable(graph, roots)
    for node_id in nodes:
        if node_id not in reached and not dangling:  # a mistyped edge would make this a follow-on error
            issues.add(
                ("nodes", node_id),
                "node is unreachable from the start node",
                f"link to it from another node, or remove it (start is '{start}')",
                at_key=True,
            )
    _cycles_without_wait(reader, nodes, graph)
    longest = _longest_path(graph, start)
    if longest > max_steps:
        issues.add(
            ("nodes",),
            f"the longest path has {longest} nodes, more than max_steps ({max_steps})",
            "raise settings.max_steps or shorten the workflow",
            at_key=True,
        )


def _reachable(graph: dict[str, list[str]], roots: list[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        stack.extend(graph[node_id])
    return seen


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (graphs can be long chains); components in reverse topological order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node_id, child = work.pop()
            if child == 0:
                index[node_id] = low[node_id] = counter
                counter += 1
                stack.append(node_id)
                on_stack.add(node_id)
            targets = graph[node_id]
            if child < len(targets):
                work.append((node_id, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node_id] = min(low[node_id], index[target])
                continue
            if low[node_id] == index[node_id]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node_id:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node_id])
    return components


def _cycles_without_wait(reader: Reader, nodes: dict[str, Node], graph: dict[str, list[str]]) -> None:
    busy = {
        node_id: [t for t in targets if not isinstance(nodes[t], WAITING_TYPES)]
        for node_id, targets in graph.items()
        if not isinstance(nodes[node_id], WAITING_TYPES)
    }
    order = {node_id: position for position, node_id in enumerate(nodes)}
    for component in strongly_connected(busy):
        if len(component) == 1 and component[0] not in busy[component[0]]:
            continue
        members = sorted(component, key=order.__getitem__)
        loop = " -> ".join([*members, members[0]])
        reader.issues.add(
            ("nodes", members[0]),
            f"cycle without a wait: {loop}",
            "put a wait or wait_for inside the loop, or it would run until the step limit",
            at_key=True,
        )


def _longest_path(graph: dict[str, list[str]], start: str) -> int:
    """Most nodes on a path from start, counting each strongly connected component's size once."""
    components = strongly_connected(graph)
    owner = {node_id: position for position, members in enumerate(components) for node_id in members}
    best: dict[int, int] = {}
    for position, members in enumerate(components):  # reverse topological: successors come first
        tail = 0
        for node_id in members:
            for target in graph[node_id]:
                other = owner[target]
                if other != position:
                    tail = max(tail, best[other])
        best[position] = len(members) + tail
    return best[owner[start]]


# What the sinks report back into `events` after each action (sinks/*): a trigger on one of these can start
# a new run from the workflow's own action, over and over.
OWN_OUTCOMES: dict[str, frozenset[str]] = {
    "send_email": frozenset({"email.sent", "email.bounced", "email.failed"}),
    "send_sms": frozenset({"sms.sent", "sms.failed"}),
    "send_push": frozenset({"push.sent", "push.failed"}),
    "webhook": frozenset({"webhook.delivered", "webhook.failed", "webhook.received"}),
    "crm_update": frozenset({"crm.updated", "crm.failed"}),
    "create_task": frozenset({"task.created"}),
    "notify": frozenset({"notification.sent", "notification.failed"}),
    "generate_document": frozenset({"document.generated"}),
    "request_signature": frozenset({"signature.requested"}),
}


def warn_self_triggering(reader: Reader, triggers: Sequence[Trigger], nodes: dict[str, Node]) -> None:
    """A warning per event trigger that an outcome of one of the workflow's own actions can match
    (webhook.received: the receiving end of an outgoing webhook often posts back)."""
    for index, trigger in enumerate(triggers):
        if not isinstance(trigger, EventTrigger):
            continue
        for node in nodes.values():
            if isinstance(node, ActionNode) and trigger.event_type in OWN_OUTCOMES.get(node.action, ()):
                reader.issues.warn(
                    ("trigger", index) if len(triggers) > 1 else ("trigger",),
                    f"the trigger on {trigger.event_type!r} can match the outcome of this workflow's own "
                    f"{node.action!r} (node {node.id!r}): each run may start the next",
                    "filter the trigger so it skips your own outcomes; settings.max_runs limits the loop",
                )
                break
