"""A workflow graph laid out for an SVG drawing: layers by distance from the start, no JS library.

The engine gives nodes and edges (LangGraph's own graph); this places each node on the layer
of its shortest distance from ``__start__`` and spreads each layer horizontally, which reads
well for the pipeline-shaped graphs workflows are. Self-loops and back edges are drawn as arcs.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

NODE_WIDTH = 150
NODE_HEIGHT = 38
GAP_X = 30
GAP_Y = 46
MARGIN = 20
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


def _layers(nodes: list[str], edges: list[dict[str, Any]]) -> dict[str, int]:
    following: dict[str, list[str]] = {name: [] for name in nodes}
    for edge in edges:
        following.setdefault(edge["source"], []).append(edge["target"])
    layer = {START: 0} if START in following else {}
    queue = deque(layer)
    while queue:
        name = queue.popleft()
        for target in following.get(name, []):
            if target not in layer:
                layer[target] = layer[name] + 1
                queue.append(target)
    deepest = max(layer.values(), default=0)
    for name in nodes:
        if name not in layer:  # unreachable from the start: below everything else
            deepest += 1
            layer[name] = deepest
    if END in layer:  # the end always closes the drawing
        layer[END] = max(value for key, value in layer.items() if key != END) + 1 if len(layer) > 1 else 0
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
    width = MARGIN * 2 + widest * NODE_WIDTH + (widest - 1) * GAP_X
    placed: dict[str, PlacedNode] = {}
    for depth, row in sorted(rows.items()):
        row_width = len(row) * NODE_WIDTH + (len(row) - 1) * GAP_X
        left = (width - row_width) // 2
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
    elif target.y > source.y:
        path = f"M{source.cx},{source.y + NODE_HEIGHT} L{target.cx},{target.y}"
    else:  # a back edge: around the right-hand side
        right = max(source.x, target.x) + NODE_WIDTH
        sy, ty = source.y + NODE_HEIGHT // 2, target.y + NODE_HEIGHT // 2
        path = f"M{source.x + NODE_WIDTH},{sy} C{right + 60},{sy} {right + 60},{ty} {target.x + NODE_WIDTH},{ty}"
    return PlacedEdge(path=path, conditional=conditional, source=source.name, target=target.name)
