"""Hook implementations of the sentiment plugin."""

from nlp_tasks import Task, hookimpl

from .convert import DOCBIN_CATS
from .reader import labels_of, make_example, to_json
from .view import view


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="sentiment",
            factory="nlp_tasks_sentiment",
            make_example=make_example,
            to_json=to_json,
            view=view,
            labels_of=labels_of,
            description="Document sentiment: one exclusive label per text.",
            api_version=">=1.3,<2",
        )
    )


@hookimpl
def register_converters(register):
    register(DOCBIN_CATS)
