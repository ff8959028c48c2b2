"""The import paths of the flat layout keep working for one release, with a warning."""

import importlib
import sys
from importlib.metadata import EntryPoint
from types import SimpleNamespace

import pytest

from nlp_tasks.registry import manager

MOVED = [
    ("nlp_tasks.plugins", "get_task", "nlp_tasks.registry.manager"),
    ("nlp_tasks.plugins", "load_factories", "nlp_tasks.registry.manager"),
    ("nlp_tasks.config", "make_config", "nlp_tasks.training.config"),
    ("nlp_tasks.readers", "MultiTaskCorpus", "nlp_tasks.training.corpus"),
    ("nlp_tasks.process", "process_records", "nlp_tasks.batch.process"),
    ("nlp_tasks.process", "process_file", "nlp_tasks.batch.job"),
    ("nlp_tasks.process", "OptionError", "nlp_tasks.errors"),
]


@pytest.mark.parametrize("old, name, new", MOVED)
def test_an_old_path_warns_and_gives_the_moved_object(old, name, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_an_old_path_refuses_a_name_that_never_existed():
    sys.modules.pop("nlp_tasks.config", None)
    with pytest.warns(DeprecationWarning):
        module = importlib.import_module("nlp_tasks.config")
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_the_old_gate_still_loads_the_factories():
    sys.modules.pop("nlp_tasks.plugins", None)
    with pytest.warns(DeprecationWarning):
        old = importlib.import_module("nlp_tasks.plugins")
    registry = importlib.import_module("nlp_tasks.registry")
    assert old.spacy_factories == registry.spacy_factories
    assert "nlp_tasks_sentiment" in registry.spacy_factories


def test_a_plugin_naming_the_old_gate_is_not_reported_as_naming_its_own_code():
    def entry_point(name: str, value: str) -> EntryPoint:
        return EntryPoint(name=name, value=value, group="spacy_factories")

    dist = SimpleNamespace(
        entry_points=[
            entry_point("old_gate", "nlp_tasks.plugins:spacy_factories"),
            entry_point("new_gate", "nlp_tasks.registry:spacy_factories"),
            entry_point("own_code", "nlp_tasks_kp.component:make_kp"),
        ]
    )
    assert manager._own_spacy_entry_points(SimpleNamespace(dist=dist)) == [
        "spacy_factories: own_code"
    ]
