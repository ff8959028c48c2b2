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
        "nlp_tasks_summarization.Summarizer.v1 (extractive) or "
        "nlp_tasks_summarization.AbstractiveSummarizer.v1 in [components.{component}.model]."
    )
