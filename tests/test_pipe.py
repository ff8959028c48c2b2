"""The base pipe helpers: finding the shared transformer, resolving backbone aliases."""

import pytest
import spacy

from nlp_tasks.components.head import shared_transformer


def test_shared_transformer_is_found_by_factory_even_when_disabled():
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", name="backbone")
    nlp.add_pipe("sentencizer")
    assert shared_transformer(nlp) is nlp.get_pipe("backbone")
    nlp.disable_pipe("backbone")
    assert shared_transformer(nlp) is nlp.get_pipe("backbone")


def test_shared_transformer_missing_is_a_coded_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    with pytest.raises(ValueError, match=r"\[E016\].*'qa'.*sentencizer"):
        shared_transformer(nlp, component="qa")


def test_an_alias_registered_twice_keeps_the_last_locator(fresh_plugins, tmp_path):
    from nlp_tasks import hookimpl
    from nlp_tasks.components.backbone import backbone_aliases

    class Plugin:
        @hookimpl
        def register_backbones(self, register):
            register("twice", str(tmp_path / "first"))
            register("twice", str(tmp_path / "second"))

    fresh_plugins.register_plugin(Plugin(), name="alias-plugin")
    assert backbone_aliases()["twice"] == str(tmp_path / "second")
