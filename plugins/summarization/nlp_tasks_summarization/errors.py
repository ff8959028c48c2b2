"""Coded errors of the summarization plugin.

Codes start with ``SUM`` so they never collide with the core's ``E0xx`` codes
and can be searched for. Access a message through the class
(``Errors.SUM001``) to get it with its ``[SUM001]`` prefix, then ``.format()``
the named fields.
"""


class _CodedMessages(type):
    def __getattribute__(cls, code: str) -> str:
        message = super().__getattribute__(code)
        if code.startswith("_"):
            return message
        return f"[{code}] {message}"


class Errors(metaclass=_CodedMessages):
    SUM001 = (
        "The abstractive summarization mode is not available yet: this release of "
        "nlp-tasks-summarization only has the extractive mode. Set mode = \"extractive\" in "
        "the component's model block (architecture nlp_tasks_summarization.Summarizer.v1), "
        "e.g. [components.summarization.model]."
    )
    SUM002 = (
        "Unknown summarization mode {mode!r} in the model config (architecture "
        "nlp_tasks_summarization.Summarizer.v1). Use one of: {modes}."
    )
    SUM003 = "{name} must be {rule}, got {value!r} (component '{component}')."
    SUM004 = (
        "The summarization component '{component}' was given a model without a "
        "summarization mode (architecture {architecture!r}). Use the architecture "
        "nlp_tasks_summarization.Summarizer.v1 in [components.{component}.model]."
    )
