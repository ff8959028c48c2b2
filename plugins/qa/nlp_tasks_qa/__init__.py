"""Extractive question answering head for nlp-tasks."""

__version__ = "0.1.0"
