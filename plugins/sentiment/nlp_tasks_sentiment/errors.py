"""Coded messages of the sentiment plugin.

The codes carry the plugin's own prefix (``SENT``), so they never clash with the
core's ``E``/``W`` codes or another plugin's. Access a message through the class
(``Errors.SENT001``) to get it with its ``[SENT001]`` prefix, then ``.format()`` it.
"""

from nlp_tasks import CodedMessages


class Errors(metaclass=CodedMessages):
    # Converters (nlp-tasks convert docbin-cats)
    SENT001 = (
        "{place} has no categories (doc.cats is empty), so it has no sentiment label. "
        "Give docs with doc.cats set, or leave this one out of the DocBin."
    )
    SENT002 = (
        "{place} has none of the labels of --labels ({labels}) in doc.cats ({cats}). Name "
        "the labels its docs use, or leave this doc out."
    )
    SENT003 = (
        "{place}: {problem} ({cats}), so it has no single top category to be its label. "
        "A sentiment record has one label: give each doc one category above the others."
    )
    SENT004 = "{place} has no text; a sentiment record needs a text to classify."
    SENT005 = (
        "{path} cannot be read as a spaCy DocBin ({error}). Give a .spacy file written by "
        "DocBin.to_disk."
    )
