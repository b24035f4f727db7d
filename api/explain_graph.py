"""Lay out the graph behind an explanation (the paths of ``/v1/explain``) for drawing.

Every explain path starts at the user and ends at the program three hops later,
except the free-bundle path, which reaches the program in two hops from a free
bundle. So a node's column is its position along its path counted back from
the program: the user in column 0, the program in column 3, what links them
in between. networkx's multipartite layout spreads each column vertically;
the result is in pixels, ready for an SVG of ``width`` x ``height``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
from pydantic import BaseModel, Field

from api.schemas import GraphPath

COLUMNS = 4
"""User, what the user reaches first (bundle, watched program), what links (channel, genre,
series, co-watcher), program."""
WIDTH = 760
ROW_HEIGHT = 56
MARGIN = 40
MAIN_LABELS = ("User", "Program", "Channel", "Bundle", "Genre", "Series")
"""The label a node is drawn as when it carries several."""


class PlacedNode(BaseModel):
    element_id: str
    label: str = Field(description="The node's main label (its colour in the drawing).")
    id: str | None
    name: str | None
    column: int = Field(description="0: the user ... 3: the program.")
    x: float
    y: float


class PlacedEdge(BaseModel):
    type: str
    start: str
    end: str
    kinds: list[str] = Field(description="Kinds of explain path this relationship belongs to.")


class ExplainGraph(BaseModel):
    width: int
    height: int
    kinds: list[str] = Field(description="Kinds of path present, in the order of the paths.")
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]


def main_label(labels: Sequence[str]) -> str:
    return next((label for label in MAIN_LABELS if label in labels), labels[0] if labels else "")


def lay_out(paths: Sequence[GraphPath], *, width: int = WIDTH) -> ExplainGraph:
    """Nodes with pixel positions and de-duplicated relationships of ``paths``."""
    graph = nx.Graph()
    edges: dict[tuple[str, str, str], PlacedEdge] = {}
    kinds: list[str] = []
    for path in paths:
        if path.kind not in kinds:
            kinds.append(path.kind)
        offset = COLUMNS - len(path.nodes)
        for index, node in enumerate(path.nodes):
            if node.element_id not in graph:  # first path wins: columns never conflict
                graph.add_node(node.element_id, column=max(offset + index, 0), node=node)
        for rel in path.relationships:
            edge = edges.setdefault(
                (rel.start, rel.end, rel.type),
                PlacedEdge(type=rel.type, start=rel.start, end=rel.end, kinds=[]),
            )
            if path.kind not in edge.kinds:
                edge.kinds.append(path.kind)
            graph.add_edge(rel.start, rel.end)
    if graph.number_of_nodes() == 0:
        return ExplainGraph(width=width, height=2 * MARGIN, kinds=[], nodes=[], edges=[])

    # A column's nodes are stacked in the order given (networkx sorts them otherwise).
    layers = {column: nodes for column, nodes in enumerate(_ordered(graph)) if nodes}
    positions = nx.multipartite_layout(graph, subset_key=layers, align="vertical")
    per_column: dict[int, int] = {}
    for _, column in graph.nodes(data="column"):
        per_column[column] = per_column.get(column, 0) + 1
    height = max(per_column.values()) * ROW_HEIGHT + 2 * MARGIN
    ys = [float(p[1]) for p in positions.values()]
    low, high = min(ys), max(ys)
    step = (width - 2 * MARGIN) / (COLUMNS - 1)
    nodes = []
    for element_id, data in graph.nodes(data=True):
        node = data["node"]
        _, y = positions[element_id]
        # multipartite_layout centres every column on 0 and stacks a column's nodes from
        # low y up; SVG's y grows downwards, so the first node is on top.
        span = (float(y) - low) / (high - low) if high > low else 0.5
        nodes.append(
            PlacedNode(
                element_id=element_id,
                label=main_label(node.labels),
                id=node.id,
                name=node.name,
                column=data["column"],
                x=round(MARGIN + data["column"] * step, 1),
                y=round(MARGIN + span * (height - 2 * MARGIN), 1),
            )
        )
    return ExplainGraph(
        width=width, height=height, kinds=kinds, nodes=nodes, edges=list(edges.values())
    )


def _ordered(graph: Any, *, sweeps: int = 4) -> list[list[str]]:
    """The nodes of each column, top first, in an order with few crossing edges (barycentre
    heuristic: each node moves to the mean rank of its neighbours in the column before,
    then after, a few times over)."""
    columns: list[list[str]] = [[] for _ in range(COLUMNS)]
    for node, column in graph.nodes(data="column"):
        columns[column].append(node)
    for sweep in range(2 * sweeps):
        forward = sweep % 2 == 0
        for column in range(1, COLUMNS) if forward else range(COLUMNS - 2, -1, -1):
            side = column - 1 if forward else column + 1
            columns[column] = _by_barycentre(graph, columns[column], columns[side])
    return columns


def _by_barycentre(graph: Any, nodes: list[str], side: list[str]) -> list[str]:
    """``nodes`` sorted by the mean rank of their neighbours in ``side`` (stable)."""
    rank = {n: i / max(len(side) - 1, 1) for i, n in enumerate(side)}
    own = {n: i / max(len(nodes) - 1, 1) for i, n in enumerate(nodes)}

    def key(node: str) -> float:
        near = [rank[m] for m in graph.neighbors(node) if m in rank]
        return sum(near) / len(near) if near else own[node]

    return sorted(nodes, key=key)
