"""healthhub: open-source software for a health data hub."""

__version__ = "0.1.0"
