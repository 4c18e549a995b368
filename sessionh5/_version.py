"""The distribution's version, in one place (the CLI reads it without the whole API)."""

__version__ = "0.1.0"
