"""The toolkit version (one place; setup.cfg reads it)."""

__version__ = "0.3.0"
