"""Coded messages of the NER plugin.

The codes carry the plugin's own prefix (``NER``), so they never clash with the
core's ``E``/``W`` codes or another plugin's. Access a message through the class
(``Errors.NER001``) to get it with its ``[NER001]`` prefix, then ``.format()`` it.
"""

from nlp_tasks import CodedMessages


class Errors(metaclass=CodedMessages):
    # Settings of nlp_tasks_ner.ListenerWithShape.v1
    NER001 = (
        "attrs and rows differ in length: {attrs} vs {rows}. Give one hash-table size in "
        "rows for each attribute in attrs ([components.<name>.model.tok2vec])."
    )
