"""Hook implementations of the similarity plugin."""

from nlp_tasks import Task, hookimpl

from .reader import INPUTS, make_example, to_json
from .view import view


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="similarity",
            factory="nlp_tasks_similarity",
            make_example=make_example,
            to_json=to_json,
            view=view,
            description="Semantic similarity of a sentence pair: a score from 0 to 1.",
            api_version=">=1.3,<2",
            # A record's text_a and text_b make one pair doc; plain texts get no score.
            inputs=INPUTS,
        )
    )
