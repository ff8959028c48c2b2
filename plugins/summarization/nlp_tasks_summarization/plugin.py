"""Hook implementations of the summarization plugin."""

from nlp_tasks import Task, hookimpl

from .reader import make_example, to_json
from .view import view


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="summarization",
            factory="nlp_tasks_summarization",
            make_example=make_example,
            to_json=to_json,
            view=view,
            description="Summaries: key sentences (extractive) or new text (abstractive).",
            api_version=">=1.6,<2",
        )
    )
