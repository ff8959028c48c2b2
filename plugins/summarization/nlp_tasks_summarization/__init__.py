"""Summarization head for nlp-tasks: extractive sentence scoring on the shared transformer."""

__version__ = "0.1.0"
