"""Drawing deeplite's tape: ``deeplite.viz.graph(loss, model).render("graph.png")``.

See docs/viz.md. Needs only matplotlib (a dependency); uses Graphviz's ``dot`` when installed.
"""
from .graph import Graph, graph

__all__ = ["Graph", "graph"]
