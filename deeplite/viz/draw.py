"""The Graphviz-free drawing: a layered layout of the parts, drawn with matplotlib.

Layers run left to right as Graphviz's ``rankdir=LR`` does: each op one layer after its latest
input, each leaf just before its first user; a few barycentre sweeps order every layer so that
edges cross less (the Sugiyama method, simplified).
"""
import io

from .nodes import FILL, LEAF_KINDS, Parts

SWEEPS = 4
LAYER_WIDTH, ROW_HEIGHT = 2.2, 1.0  # inches per layer and per node within a layer
MAX_INCHES = 120  # a graph too big for this should be drawn with collapse=True


def layers(parts: Parts) -> list:
    """The layer of every node (the order is topological, so one pass suffices)."""
    count = len(parts.nodes)
    feeders: list = [[] for _ in range(count)]
    users: list = [[] for _ in range(count)]
    for edge in parts.edges:
        feeders[edge.target].append(edge.source)
        users[edge.source].append(edge.target)
    layer = [0] * count
    for index in range(count):
        layer[index] = max((layer[source] + 1 for source in feeders[index]), default=0)
    for index, node in enumerate(parts.nodes):
        if node.kind in LEAF_KINDS and users[index]:
            layer[index] = max(0, min(layer[user] for user in users[index]) - 1)
    return layer


def layout(parts: Parts) -> dict:
    """index -> (layer, row): rows ordered within each layer by the barycentre of neighbours."""
    layer = layers(parts)
    neighbours: list = [[] for _ in parts.nodes]
    for edge in parts.edges:
        neighbours[edge.target].append(edge.source)
        neighbours[edge.source].append(edge.target)
    rows: dict = {}
    for index in range(len(parts.nodes)):
        rows.setdefault(layer[index], []).append(index)
    position = {index: float(row) for members in rows.values() for row, index in enumerate(members)}
    for _ in range(SWEEPS):
        for members in rows.values():
            members.sort(key=lambda i: (sum(position[n] for n in neighbours[i]) /
                                        len(neighbours[i])) if neighbours[i] else position[i])
            for row, index in enumerate(members):
                position[index] = row - (len(members) - 1) / 2  # centre every layer
    return {index: (layer[index], position[index]) for index in range(len(parts.nodes))}


def render_with_matplotlib(parts: Parts, fmt: str) -> bytes:
    """PNG or SVG bytes of the layered drawing."""
    from matplotlib.figure import Figure

    places = layout(parts)
    n_layers = 1 + max((layer for layer, _ in places.values()), default=0)
    tallest = max((sum(1 for layer, _ in places.values() if layer == column)
                   for column in range(n_layers)), default=1)
    width = min(MAX_INCHES, max(3.0, n_layers * LAYER_WIDTH))
    height = min(MAX_INCHES, max(2.0, tallest * ROW_HEIGHT + 0.5))
    figure = Figure(figsize=(width, height))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.axis("off")
    axes.set_xlim(-0.6, n_layers - 0.4)
    axes.set_ylim(-tallest / 2, tallest / 2)
    boxes = []
    for index, node in enumerate(parts.nodes):
        layer, row = places[index]
        style = "square,pad=0.4" if node.kind in ("op", "group") else "round,pad=0.4"
        boxes.append(axes.text(layer, -row, "\n".join(node.lines()), ha="center", va="center",
                               fontsize=8, zorder=3,
                               bbox={"boxstyle": style, "facecolor": FILL[node.kind],
                                     "edgecolor": "#333333",
                                     "linewidth": 2.0 if node.kind == "group" else 0.8}))
    for edge in parts.edges:
        (x0, row0), (x1, row1) = places[edge.source], places[edge.target]
        bend = 0.0 if x1 - x0 <= 1 else 0.15  # arc the long edges around the nodes between
        # Above the boxes (drawn first, so their outlines are placed when arrows clip to them).
        axes.annotate("", xy=(x1, -row1), xytext=(x0, -row0), zorder=4, arrowprops={
            "arrowstyle": "-|>", "color": "#555555", "shrinkA": 2, "shrinkB": 2,
            "patchA": boxes[edge.source].get_bbox_patch(),
            "patchB": boxes[edge.target].get_bbox_patch(),
            "connectionstyle": f"arc3,rad={bend}"})
        if edge.label is not None:
            axes.text((x0 + x1) / 2, -(row0 + row1) / 2, edge.label, fontsize=7, zorder=5,
                      ha="center", va="center", color="#7a1f1f",
                      bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                            "edgecolor": "none"})
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=100)
    return buffer.getvalue()
