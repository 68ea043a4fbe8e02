"""The one version number shared by all five distributions (moved by scripts/bump.py)."""

__version__ = "0.1.0"
