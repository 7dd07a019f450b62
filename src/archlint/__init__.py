"""archlint: a static architecture linter and policy checker for FastAPI backends."""

__version__ = "0.1.0"
