"""Hook implementations of the NER plugin."""

from nlp_tasks import Task, hookimpl

from .convert import CONLL, DOCBIN_ENTS, NER_DOCUMENTS
from .reader import labels_of, make_example, to_json
from .view import view


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="ner",
            factory="nlp_tasks_ner",
            make_example=make_example,
            to_json=to_json,
            view=view,
            labels_of=labels_of,
            description="Named entities: spans with a type (PER, ORG, LOC, ...).",
            api_version=">=1.3,<2",
        )
    )


@hookimpl
def register_converters(register):
    register(CONLL)
    register(DOCBIN_ENTS)
    register(NER_DOCUMENTS)
