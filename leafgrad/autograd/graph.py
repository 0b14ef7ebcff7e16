"""Graph inspection types, as ``torch.autograd.graph``."""
from leafgrad.autograd.function import Node

__all__ = ["Node"]
