"""Hook implementations of the topics plugin."""

from nlp_tasks import Task, hookimpl

from .reader import labels_of, make_example, to_json


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="topics",
            factory="nlp_tasks_topics",
            make_example=make_example,
            to_json=to_json,
            labels_of=labels_of,
            description="Topic tags: any number of labels per text.",
            api_version=">=1.1,<2",
        )
    )
