"""Pictures and explanations of the backward graph.

:func:`draw_graph` draws the graph behind one or more tensors as a graphviz ``Digraph`` (needs
the optional ``graphviz`` package, ``pip install "leafgrad[viz]"``, and Graphviz's ``dot`` to
render); :func:`explain` gives the same as an indented text tree, with no extra dependency.
"""
from leafgrad.viz.graph import INSTALL_HINT, draw_graph, explain

__all__ = ["INSTALL_HINT", "draw_graph", "explain"]
