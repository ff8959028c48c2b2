"""The translation component: the core's decoder head, writing ``doc._.translation``."""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config, Model

from nlp_tasks import GenerativeHead, listener_config

from . import scorer as _scorer  # noqa: F401  (registers its scorer)
from .reader import install_extensions

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "nlp_tasks.TransformerDecoder.v1"
hidden_width = 256
depth = 3
heads = 4
ffn_width = 1024
dropout = 0.1
max_positions = 256
init_from_backbone = false
""" + listener_config("model.tok2vec")
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "nlp_tasks_translation",
    assigns=["doc._.translation"],
    default_config={
        "model": DEFAULT_MODEL,
        "target_lang": "",
        "target_tokenizer": "train",
        "target_vocab_size": 8000,
        "max_target_tokens": 128,
        "max_source_tokens": 512,
        "label_smoothing": 0.1,
        "generation": {"num_beams": 4, "max_new_tokens": 128, "length_penalty": 1.0},
        "max_new_tokens_ratio": 2.0,
        "max_new_tokens_offset": 10,
        "scorer": {"@scorers": "nlp_tasks_translation.scorer.v1"},
    },
    default_score_weights={"translation_bleu": 1.0, "translation_chrf": 0.0},
)
def make_translation(
    nlp: Language,
    name: str,
    model: Model,
    target_lang: str,
    target_tokenizer: str,
    target_vocab_size: int,
    max_target_tokens: int,
    max_source_tokens: int,
    label_smoothing: float,
    generation: dict[str, Any],
    max_new_tokens_ratio: float | None,
    max_new_tokens_offset: int,
    scorer: Callable | None,
) -> "Translator":
    """Create a translation component (factory ``nlp_tasks_translation``).

    model (Model): A ``nlp_tasks.TransformerDecoder.v1`` decoder on the shared listener.
    target_lang (str): Language code of the output, e.g. "de"; written to the
        pipeline meta (``nlp.meta["target_lang"]``).
    target_tokenizer (str): "train" (byte-level BPE learnt from the training
        targets at initialize), a Hugging Face tokenizer name or path, or "backbone".
    target_vocab_size (int): Vocabulary size of a trained target tokenizer.
    max_target_tokens (int): Longest training target in target tokens; longer ones
        are cut, with a warning that counts them.
    max_source_tokens (int): Most source tokens the decoder attends to.
    label_smoothing (float): Label smoothing of the loss.
    generation (dict[str, Any]): Hugging Face ``GenerationConfig`` settings.
    max_new_tokens_ratio (float | None): A translation has at most this many
        target tokens per source token, plus ``max_new_tokens_offset``; null:
        only ``generation.max_new_tokens`` limits it. 2.0 and 10 hold every
        Multi30k en-de training and dev reference (German BPE tokens per English
        spaCy token: median about 1.0, at most 2.64).
    max_new_tokens_offset (int): Target tokens allowed on top of the ratio.
    scorer (Callable | None): The scoring method.
    """
    return Translator(
        nlp.vocab,
        model,
        name,
        target_lang=target_lang,
        target_tokenizer=target_tokenizer,
        target_vocab_size=target_vocab_size,
        max_target_tokens=max_target_tokens,
        max_source_tokens=max_source_tokens,
        label_smoothing=label_smoothing,
        generation=generation,
        max_new_tokens_ratio=max_new_tokens_ratio,
        max_new_tokens_offset=max_new_tokens_offset,
        scorer=scorer,
    )


class Translator(GenerativeHead):
    """Translates each doc with a decoder cross-attending to the shared backbone.

    The source is read by the shared transformer (any language the backbone
    reads), so the head shares activations with the other document-level heads;
    the decoder and its target vocabulary are its own. Examples of other tasks
    have no reference translation and add no loss.
    """

    def __init__(self, vocab, model, name="translation", *, target_lang="", **settings) -> None:
        super().__init__(vocab, model, name, **settings)
        self.cfg["target_lang"] = target_lang
        install_extensions()

    def target_of(self, example: Example) -> str | None:
        """The reference translation of a training example.

        example (Example): A training example.
        RETURNS (str | None): Its ``doc._.translation``, None for other tasks' examples.
        """
        return example.reference._.translation

    def set_output(self, doc: Doc, text: str | None) -> None:
        """Write ``doc._.translation``.

        doc (Doc): The doc.
        text (str | None): The translation; None for a blank doc (no tokens, or
            only whitespace tokens): no translation.
        """
        doc._.translation = text

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Language | None = None,
        train_path: str | Path | None = None,
    ) -> None:
        """Train the target tokenizer, build the decoder, and record the target language.

        get_examples (Callable[[], Iterable[Example]]): The training examples.
        nlp (Language | None): The pipeline.
        train_path (str | Path | None): The training records, read for the
            target tokenizer (``GenerativeHead.initialize``).
        """
        super().initialize(get_examples, nlp=nlp, train_path=train_path)
        if nlp is not None and self.cfg["target_lang"]:
            nlp.meta["target_lang"] = self.cfg["target_lang"]
