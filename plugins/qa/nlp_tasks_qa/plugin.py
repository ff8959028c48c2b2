"""Hook implementations of the QA plugin."""

from nlp_tasks import ExtraField, Task, TaskInputs, hookimpl

from .convert import SQUAD
from .reader import make_example, to_json
from .view import view


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="qa",
            factory="nlp_tasks_qa",
            make_example=make_example,
            to_json=to_json,
            view=view,
            description="Extractive question answering: the span of the text that answers.",
            api_version=">=1.3,<2",
            # A record's questions go to doc._.questions; a doc without any gets no answers.
            inputs=TaskInputs(segments=("text",), extras=(ExtraField("questions"),)),
        )
    )


@hookimpl
def register_converters(register):
    register(SQUAD)
