"""The base pipe helpers: finding the shared transformer."""

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
    with pytest.raises(ValueError, match=r"\[E060\].*'qa'.*sentencizer"):
        shared_transformer(nlp, component="qa")
