"""Multi-label topic tagging for nlp-tasks, written against its public API only."""

__version__ = "0.1.0"
