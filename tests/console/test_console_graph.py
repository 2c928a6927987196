"""The console's drawings: graph layout (every forward edge goes down, loops become arcs), charts, theme contrast."""

from __future__ import annotations

from vetrai.plugins.console.charts import usage_chart
from vetrai.plugins.console.graph import NODE_HEIGHT, layout
from vetrai.plugins.console.theme import readable_on

TRIAGE = {
    "nodes": ["__start__", "split", "classify", "escalate", "summarize", "__end__"],
    "edges": [
        {"source": "__start__", "target": "split"},
        {"source": "split", "target": "classify"},
        {"source": "classify", "target": "escalate", "conditional": True},
        {"source": "classify", "target": "summarize", "conditional": True},
        {"source": "escalate", "target": "summarize"},
        {"source": "summarize", "target": "__end__"},
    ],
}
LOOP = {
    "nodes": ["__start__", "draft", "review", "__end__"],
    "edges": [
        {"source": "__start__", "target": "draft"},
        {"source": "draft", "target": "review"},
        {"source": "review", "target": "draft", "conditional": True},
        {"source": "review", "target": "review", "conditional": True},
        {"source": "review", "target": "__end__", "conditional": True},
    ],
}


def rows(graph: dict) -> dict[str, int]:
    return {node.name: node.y for node in layout(graph).nodes}


def test_every_forward_edge_points_down_and_the_end_is_last():
    y = rows(TRIAGE)
    for edge in TRIAGE["edges"]:
        assert y[edge["target"]] > y[edge["source"]], edge
    assert y["__end__"] == max(y.values()) and y["__start__"] == min(y.values())


def test_loops_do_not_break_the_layers_and_are_drawn_as_arcs():
    drawing = layout(LOOP)
    y = {node.name: node.y for node in drawing.nodes}
    assert y["__start__"] < y["draft"] < y["review"] < y["__end__"]
    paths = {(edge.source, edge.target): edge.path for edge in drawing.edges}
    assert " C" in paths[("review", "draft")] and " C" in paths[("review", "review")]
    assert " L" in paths[("draft", "review")]
    boxes = sorted((node.x, node.y) for node in drawing.nodes)
    assert len(set(boxes)) == len(boxes)  # no two nodes on the same spot
    assert drawing.height >= y["__end__"] + NODE_HEIGHT


def test_a_skipping_edge_goes_around_the_boxes_between():
    paths = {(edge.source, edge.target): edge.path for edge in layout(TRIAGE).edges}
    assert " C" in paths[("classify", "summarize")]  # not a straight line through "escalate"


def test_the_usage_chart_fills_quiet_days_and_scales_to_the_busiest():
    chart = usage_chart(
        {
            "from": "2026-11-01",
            "to": "2026-11-05",
            "daily": [
                {"date": "2026-11-02", "requests": 10, "errors": 5},
                {"date": "2026-11-04", "requests": 20, "errors": 0},
            ],
        }
    )
    assert [bar.label for bar in chart.bars] == [f"2026-11-0{day}" for day in range(1, 6)]
    assert [bar.value for bar in chart.bars] == [0, 10, 0, 20, 0]
    tallest = max(bar.height for bar in chart.bars)
    assert chart.bars[3].height == tallest and chart.bars[1].height == tallest / 2
    assert chart.bars[1].error_height == tallest / 4 and chart.peak == 20


def test_header_text_keeps_its_contrast_on_any_theme_colour():
    assert readable_on("#123456") == "#ffffff"
    assert readable_on("#ffff00") == "#111111"
    assert readable_on("#2563eb") == "#ffffff"
