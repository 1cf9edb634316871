"""matplotlib for deeplite's figures (the CLI's run plots, the examples'), imported only when asked.

A neutral module below both the ``deeplite`` command and the examples, so neither imports the
other. ``import deeplite`` never imports it.
"""


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only: no display needed, none opened)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt
