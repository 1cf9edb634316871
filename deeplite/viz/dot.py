"""Graphviz: the DOT text of the drawn parts, and rendering it with the ``dot`` program."""
import shutil
import subprocess

from .nodes import FILL, SHAPE, Parts

HEADER = ('digraph tape {\n'
          '  rankdir=LR;\n'
          '  node [style=filled, fontname="Helvetica", fontsize=11];\n'
          '  edge [fontname="Helvetica", fontsize=9];\n')


def quote(text: str) -> str:
    """A DOT string literal: backslashes and quotes escaped, newlines as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(parts: Parts) -> str:
    """DOT text: ``n<i>`` per node in topological order with the lecture's colours, then edges."""
    lines = [HEADER]
    for index, node in enumerate(parts.nodes):
        lines.append(f"  n{index} [label={quote(chr(10).join(node.lines()))}, "
                     f"shape={SHAPE[node.kind]}, fillcolor=\"{FILL[node.kind]}\"];\n")
    for edge in parts.edges:
        label = "" if edge.label is None else f" [label={quote(edge.label)}]"
        lines.append(f"  n{edge.source} -> n{edge.target}{label};\n")
    lines.append("}\n")
    return "".join(lines)


def graphviz_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def render_with_graphviz(dot_text: str, fmt: str) -> bytes:
    """PNG or SVG bytes from ``dot -T<fmt>``; a ValueError carrying dot's message on failure."""
    result = subprocess.run([shutil.which("dot") or "dot", f"-T{fmt}"], input=dot_text.encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(f"render: Graphviz dot failed: {message[-1] if message else 'no output'};"
                         f" pass engine='matplotlib' to draw without it")
    return result.stdout
