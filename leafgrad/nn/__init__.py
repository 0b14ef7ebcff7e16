"""Neural-network building blocks, as ``torch.nn``: Module and its layers, Parameter,
``functional`` (stateless functions), ``init`` and ``utils``."""
from leafgrad.nn import functional, init, utils  # noqa: F401
from leafgrad.nn.modules import *  # noqa: F401,F403 - Module and the layers
from leafgrad.nn.modules import __all__ as _layers
from leafgrad.nn.parameter import Buffer, Parameter

__all__ = ["Parameter", "Buffer", "functional", "init", "utils", *_layers]
