"""A workflow graph laid out for an SVG drawing: layered top to bottom, no JS library.

The engine gives nodes and edges (LangGraph's own graph); loops are set aside (depth-first
back edges), each node goes on the layer of its longest path from the start, and each layer
is spread horizontally, which reads well for the pipeline-shaped graphs workflows are.
Self-loops and back edges are drawn as arcs on the right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NODE_WIDTH = 150
NODE_HEIGHT = 38
GAP_X = 30
GAP_Y = 46
MARGIN = 20
GUTTER = 60  # room on the left for edges that skip a layer
START, END = "__start__", "__end__"


@dataclass(frozen=True)
class PlacedNode:
    name: str
    label: str
    x: int
    y: int
    terminal: bool

    @property
    def cx(self) -> int:
        return self.x + NODE_WIDTH // 2


@dataclass(frozen=True)
class PlacedEdge:
    path: str
    conditional: bool
    source: str
    target: str


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]


def _back_edges(following: dict[str, list[str]], roots: list[str]) -> set[tuple[str, str]]:
    """Edges closing a cycle (to a node still on the depth-first path): loops, drawn as arcs."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    for root in roots:
        if root in state:
            continue
        stack = [(root, iter(following.get(root, [])))]
        state[root] = 1
        while stack:
            name, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[name] = 2
                stack.pop()
            elif state.get(target) == 1:
                back.add((name, target))
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(following.get(target, []))))
    return back


def _layers(nodes: list[str], edges: list[dict[str, Any]]) -> dict[str, int]:
    """Longest-path layers once loops are set aside: every forward edge goes strictly down."""
    following: dict[str, list[str]] = {name: [] for name in nodes}
    for edge in edges:
        following.setdefault(edge["source"], []).append(edge["target"])
    roots = [START] if START in following else []
    roots += [name for name in nodes if name != START]
    back = _back_edges(following, roots)
    forward = [(e["source"], e["target"]) for e in edges if (e["source"], e["target"]) not in back]
    forward = [(source, target) for source, target in forward if source != target]
    layer = {name: 0 for name in following}
    for _ in range(len(following)):  # relax: at most one pass per node on an acyclic graph
        changed = False
        for source, target in forward:
            if layer[target] < layer[source] + 1:
                layer[target] = layer[source] + 1
                changed = True
        if not changed:
            break
    if END in layer and len(layer) > 1:  # the end always closes the drawing
        layer[END] = max(value for key, value in layer.items() if key != END) + 1
    return layer


def layout(graph: dict[str, Any]) -> Layout:
    """Coordinates for ``graph`` (``{"nodes": [...], "edges": [...]}`` of the engine's graph API)."""
    names = [str(node) for node in graph.get("nodes", [])]
    edges = graph.get("edges", [])
    layer = _layers(names, edges)
    rows: dict[int, list[str]] = {}
    for name in names:
        rows.setdefault(layer[name], []).append(name)
    widest = max((len(row) for row in rows.values()), default=1)
    width = GUTTER + MARGIN * 2 + widest * NODE_WIDTH + (widest - 1) * GAP_X
    placed: dict[str, PlacedNode] = {}
    for depth, row in sorted(rows.items()):
        row_width = len(row) * NODE_WIDTH + (len(row) - 1) * GAP_X
        left = GUTTER + (width - GUTTER - row_width) // 2
        for index, name in enumerate(row):
            placed[name] = PlacedNode(
                name=name,
                label={START: "start", END: "end"}.get(name, name),
                x=left + index * (NODE_WIDTH + GAP_X),
                y=MARGIN + depth * (NODE_HEIGHT + GAP_Y),
                terminal=name in (START, END),
            )
    height = MARGIN * 2 + (max(rows, default=0) + 1) * (NODE_HEIGHT + GAP_Y) - GAP_Y
    drawn = [
        _edge(placed[e["source"]], placed[e["target"]], e)
        for e in edges
        if e["source"] in placed and e["target"] in placed
    ]
    return Layout(width=width, height=height, nodes=list(placed.values()), edges=drawn)


def _edge(source: PlacedNode, target: PlacedNode, edge: dict[str, Any]) -> PlacedEdge:
    conditional = bool(edge.get("conditional"))
    if source.name == target.name:
        right, top = source.x + NODE_WIDTH, source.y + 8
        path = f"M{right},{top} C{right + 40},{top - 20} {right + 40},{top + 40} {right},{top + 22}"
    elif target.y == source.y + NODE_HEIGHT + GAP_Y or (target.y > source.y and target.x != source.x):
        path = f"M{source.cx},{source.y + NODE_HEIGHT} L{target.cx},{target.y}"
    elif target.y > source.y:  # skips a layer in the same column: around the left, clear of the boxes between
        sy, ty = source.y + NODE_HEIGHT // 2, target.y + NODE_HEIGHT // 2
        bend = min(source.x, target.x) - GUTTER + 10
        path = f"M{source.x},{sy} C{bend},{sy} {bend},{ty} {target.x},{ty}"
    else:  # a back edge: around the right-hand side
        right = max(source.x, target.x) + NODE_WIDTH
        sy, ty = source.y + NODE_HEIGHT // 2, target.y + NODE_HEIGHT // 2
        path = f"M{source.x + NODE_WIDTH},{sy} C{right + 60},{sy} {right + 60},{ty} {target.x + NODE_WIDTH},{ty}"
    return PlacedEdge(path=path, conditional=conditional, source=source.name, target=target.name)
