"""Coded messages of the QA plugin.

The codes carry the plugin's own prefix (``QA``), so they never clash with the
core's ``E``/``W`` codes or another plugin's. Access a message through the class
(``Errors.QA001``) to get it with its ``[QA001]`` prefix, then ``.format()`` it.
"""

from nlp_tasks import CodedMessages


class Errors(metaclass=CodedMessages):
    # Records (the core adds the file and line)
    QA001 = "record {id}: {field!r} must be a string, got {type}: {value}"
    QA002 = "record {id}: {field!r} is empty; every record needs a question and a context."
    QA003 = (
        'record {id}: \'answers\' must be {{"text": [str, ...], "answer_start": [int, ...]}} '
        "with one start per text, got {value}."
    )
    QA004 = (
        "record {id}: answer {text!r} at answer_start {start} does not match the context, "
        "which has {found!r} there. Fix answer_start (0-based character offset into "
        "'context') or the answer text."
    )
    QA005 = (
        "record {id}: answer_start {start} is outside the context (length {length}). "
        "Fix answer_start, a 0-based character offset into 'context'."
    )
    # QA006 (a record without answers) is retired: such a record is a
    # no-answer question (SQuAD v2.0), which the head learns from.
    # Asking
    QA010 = "The question must be a non-empty string of valid Unicode, got {value}."
    QA011 = "The document to ask must be a Doc or a string, got {type}."
    QA015 = (
        "Item {index} of the pairs given to ask_many is {value}; each must be a (doc, "
        "question) pair: a tuple or list of a Doc or string and the question."
    )
    QA012 = (
        "top_k must be an integer >= 1 (how many answers to return, best first), got "
        "{value!r}. Use top_k=1 for the best answer alone; an empty list means no answer."
    )
    QA013 = (
        "{name} must be a number from 0 to 1 (an answer's score is a probability; spans "
        "scoring below it are no answer), got {value!r}. Use 0.0 to keep the best spans "
        "whatever their score."
    )
    QA014 = (
        "doc._.questions must be a list of strings (one string counts as one question), "
        "got {type}: {value}. Set it to the questions to ask of the doc, e.g. "
        '["Who founded it?"], or None for none.'
    )
    # Settings
    QA020 = (
        "max_question_length ({max_question_length}) leaves no room for the context in a "
        "window of max_length {max_length} wordpieces (3 go to special tokens). Lower "
        "max_question_length or raise max_length."
    )
    QA021 = (
        "stride ({stride}) must be smaller than the context part of a window "
        "({room} wordpieces for max_length {max_length} and max_question_length "
        "{max_question_length}). Lower stride."
    )
    QA022 = (
        "max_length ({max_length}) is longer than the backbone '{backbone}' accepts "
        "({limit} positions). Set [components.{name}] max_length to {limit} or less."
    )
    QA023 = (
        "The model of component '{name}' is not a QA architecture (expected "
        "attrs['qa_mode'] 'joint' or 'cross', got {mode!r}). Use "
        "nlp_tasks_qa.JointSpanScorer.v1 or nlp_tasks_qa.CrossAttentionSpanScorer.v1."
    )
    QA024 = (
        "{cls} cannot run a model of QA mode {mode!r}. Create the component with its "
        'factory (nlp.add_pipe("nlp_tasks_qa", ...) or a config), which picks the class '
        "of the model's mode: JointQuestionAnswerer or CrossAttentionQuestionAnswerer."
    )
    QA025 = (
        "n_heads ({n_heads}) must divide hidden_width ({hidden_width}) in "
        "nlp_tasks_qa.CrossAttentionSpanScorer.v1. Change either in the QA component's "
        "model block."
    )
    # Converters (nlp-tasks convert squad)
    QA030 = (
        "{path}: question {id}: answer {text!r} at answer_start {start} does not match the "
        "context, which has {found!r} there. Fix answer_start (a 0-based character offset "
        "into the context) or the answer text."
    )
    QA031 = (
        '{path}: {place}: {problem}. A SQuAD file is {{"version", "data": [{{"title", '
        '"paragraphs": [{{"context", "qas": [{{"id", "question", "answers": '
        '[{{"text", "answer_start"}}], "is_impossible"}}]}}]}}]}}, as SQuAD v1.1 and '
        "v2.0 are published."
    )


class Warnings(metaclass=CodedMessages):
    QA101 = (
        "{count} question(s) longer than max_question_length ({limit} wordpieces) were "
        "truncated to their first {limit} wordpieces, e.g. {example!r}. Raise "
        "[components.{name}] max_question_length to keep more."
    )
