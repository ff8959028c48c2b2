"""Hook implementations of the translation plugin."""

from nlp_tasks import Task, hookimpl

from .convert import PARALLEL
from .reader import make_example, to_json
from .view import view


@hookimpl
def register_tasks(register):
    register(
        Task(
            name="translation",
            factory="nlp_tasks_translation",
            make_example=make_example,
            to_json=to_json,
            view=view,
            description="Translation: the document in the target language, by a decoder.",
            # int8 kept BLEU within 0.1 of fp32 on Multi30k dev (bench/RESULTS.md, "Precision").
            precisions=("fp32", "bf16", "int8"),
            api_version=">=1.6,<2",
        )
    )


@hookimpl
def register_converters(register):
    register(PARALLEL)
