"""Hook implementations of the QA plugin."""

from nlp_tasks import Task, hookimpl

from .reader import make_example, to_json


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="qa",
            factory="nlp_tasks_qa",
            make_example=make_example,
            to_json=to_json,
            description="Extractive question answering: the span of the text that answers.",
            api_version=">=1.1,<2",
        )
    )
