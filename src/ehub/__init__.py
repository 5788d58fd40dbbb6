"""eHub: an open, self-hostable digital trade hub for small exporters."""

__version__ = "0.1.0"
