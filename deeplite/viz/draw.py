"""The Graphviz-free drawing: a layered layout of the parts, drawn with matplotlib.

Layers run left to right as Graphviz's ``rankdir=LR`` does: each op one layer after its latest
input, each leaf just before its first user; a few barycentre sweeps order every layer so that
edges cross less (the Sugiyama method, simplified).
"""
import io

from .nodes import FILL, LEAF_KINDS, Parts

SWEEPS = 4
CHAR_INCHES, LINE_INCHES = 0.075, 0.16  # one character's width and one line's height at 8 pt
PAD_INCHES, GAP_INCHES = 0.3, 0.5  # inside a box; between columns (and rows, halved)
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
    labels = ["\n".join(node.lines()) for node in parts.nodes]
    # Sizes in inches, from the labels: each column as wide as its widest node.
    widths = [max(map(len, label.split("\n"))) * CHAR_INCHES + PAD_INCHES for label in labels]
    row_height = max(((label.count("\n") + 1) * LINE_INCHES + PAD_INCHES for label in labels),
                     default=1.0) + GAP_INCHES / 2
    n_layers = 1 + max((layer for layer, _ in places.values()), default=0)
    column_width = [GAP_INCHES] * n_layers
    for index, (layer, _) in places.items():
        column_width[layer] = max(column_width[layer], widths[index])
    centres, left = [], GAP_INCHES
    for width in column_width:
        centres.append(left + width / 2)
        left += width + GAP_INCHES
    tallest = max((sum(1 for layer, _ in places.values() if layer == column)
                   for column in range(n_layers)), default=1)
    height = tallest * row_height + GAP_INCHES
    figure = Figure(figsize=(min(MAX_INCHES, left), min(MAX_INCHES, height)))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.axis("off")
    axes.set_xlim(0, left)
    axes.set_ylim(-height / 2, height / 2)
    places = {index: (centres[layer], -row * row_height)
              for index, (layer, row) in places.items()}
    boxes = []
    for index, node in enumerate(parts.nodes):
        x, y = places[index]
        style = "square,pad=0.4" if node.kind in ("op", "group") else "round,pad=0.4"
        boxes.append(axes.text(x, y, labels[index], ha="center", va="center",
                               fontsize=8, zorder=3,
                               bbox={"boxstyle": style, "facecolor": FILL[node.kind],
                                     "edgecolor": "#333333",
                                     "linewidth": 2.0 if node.kind == "group" else 0.8}))
    spans = {centre: column for column, centre in enumerate(centres)}
    for edge in parts.edges:
        (x0, y0), (x1, y1) = places[edge.source], places[edge.target]
        # Arc the edges that skip columns around the nodes between.
        bend = 0.0 if spans[x1] - spans[x0] <= 1 else 0.15
        # Above the boxes (drawn first, so their outlines are placed when arrows clip to them).
        axes.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=4, arrowprops={
            "arrowstyle": "-|>", "color": "#555555", "shrinkA": 2, "shrinkB": 2,
            "patchA": boxes[edge.source].get_bbox_patch(),
            "patchB": boxes[edge.target].get_bbox_patch(),
            "connectionstyle": f"arc3,rad={bend}"})
        if edge.label is not None:
            axes.text((x0 + x1) / 2, (y0 + y1) / 2, edge.label, fontsize=7, zorder=5,
                      ha="center", va="center", color="#7a1f1f",
                      bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                            "edgecolor": "none"})
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=100)
    return buffer.getvalue()
