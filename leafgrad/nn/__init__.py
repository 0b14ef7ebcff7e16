"""Neural-network building blocks (``leafgrad.nn.functional`` for now)."""
from leafgrad.nn import functional  # noqa: F401
