"""Coded errors of the summarization plugin.

Codes start with ``SUM`` so they never collide with the core's ``E0xx`` codes
and can be searched for. Access a message through the class
(``Errors.SUM001``) to get it with its ``[SUM001]`` prefix, then ``.format()``
the named fields.
"""

from nlp_tasks import CodedMessages


class Errors(metaclass=CodedMessages):
    SUM001 = (
        "The abstractive summarization mode has its own architecture: in the component's "
        "model block (e.g. [components.summarization.model]) set @architectures = "
        '"nlp_tasks_summarization.AbstractiveSummarizer.v1" with its settings, instead of '
        'mode = "abstractive" in nlp_tasks_summarization.Summarizer.v1, whose only mode is '
        '"extractive".'
    )
    SUM002 = (
        "Unknown summarization mode {mode!r} in the model config (architecture "
        "nlp_tasks_summarization.Summarizer.v1). Use one of: {modes}."
    )
    SUM003 = "{name} must be {rule}, got {value!r} (component '{component}')."
    SUM004 = (
        "The summarization component '{component}' was given a model without a "
        "summarization mode (architecture {architecture!r}). Use the architecture "
        "nlp_tasks_summarization.Summarizer.v2 (extractive) or "
        "nlp_tasks_summarization.AbstractiveSummarizer.v1 in [components.{component}.model]."
    )
    # Settings of the extractive architecture (Summarizer.v2 and v1), in the
    # component's model block
    SUM005 = (
        "{name} must be a positive integer, got {value!r}. Fix it in the summarization "
        "component's model block."
    )
    SUM006 = (
        "n_layers must be an integer >= 0, got {value!r}. Use 0 to score each sentence "
        "on its own, in the summarization component's model block."
    )
    SUM007 = (
        "n_heads ({n_heads}) must divide hidden_width ({hidden_width}). Change either in "
        "the summarization component's model block."
    )
    SUM008 = (
        "dropout must be in [0, 1), got {value!r}. Fix it in the summarization "
        "component's model block."
    )
    SUM009 = (
        "Cannot tell the width of the token vectors: the summarizer's listener has no "
        "output width yet. Initialize the pipeline's transformer component first."
    )
