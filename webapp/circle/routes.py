"""HTTP views (thin): parse, ask services, render."""
from . import bp  # noqa: F401
