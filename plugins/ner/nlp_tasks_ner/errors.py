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
    # Converters (nlp-tasks convert conll, docbin-ents)
    NER010 = (
        "{where}: the line has {count} column(s), but --token-column {token} and --tag-column "
        "{tag} need {need} (columns count from 0; negative ones from the end). Fix the line, "
        "or give the file's columns."
    )
    NER011 = (
        "{where}: {problem} (tag scheme {scheme}). Fix the tag, or give the file's scheme "
        "with --scheme ({schemes}; CoNLL-2003's own files are iob1)."
    )
    NER012 = (
        "--token-column and --tag-column are both {column}; give the columns of the token "
        "and of its entity tag (from 0; -1 is the last)."
    )
    NER013 = (
        "{place}: token {index} {token!r} holds whitespace, which a record's tokens cannot "
        "hold. Retokenize the doc, or merge no tokens across a space."
    )
    NER014 = (
        "{path} cannot be read as a spaCy DocBin ({error}). Give a .spacy file written by "
        "DocBin.to_disk (spacy convert writes them too)."
    )
    NER015 = (
        "Record {number} cannot be written as CoNLL: {problem}. Give records of tokens and "
        "IOB2 tags, as the conll converter writes them."
    )
    NER017 = (
        "{where}: the token {token!r} holds whitespace other than the spaces and tabs that "
        "separate columns; a record's tokens can hold none (spaCy splits text there). "
        "Replace it in the file (a no-break space by a space between two tokens, say)."
    )
    NER019 = (
        "{where}: the line has {count} columns, so --token-column {token} and --tag-column "
        "{tag} both read column {column}. Give the columns of the token and of its entity "
        "tag (from 0; negative ones from the end)."
    )
    NER018 = (
        "{path}: none of its {docs} doc(s) has entity annotation (doc.ents was never set), so "
        "every token would be tagged O. Give a DocBin of docs annotated with entities (a doc "
        "with none has doc.ents = []), or convert this one with docbin-cats if it holds "
        "categories."
    )
    NER016 = (
        "{where}: {problem}. ner-documents reads NER records of tokens and IOB2 tags, one a "
        "line, as the conll converter writes them."
    )
