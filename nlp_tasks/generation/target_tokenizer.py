"""The vocabulary a decoder head writes in: a Hugging Face fast tokenizer and its special ids."""

from collections.abc import Iterable
from typing import Any

import srsly

from ..errors import Errors, TargetTokenizerError

#: Special tokens of a tokenizer trained at ``initialize``.
TRAINED_SPECIAL_TOKENS = {
    "pad_token": "<pad>",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
}


class TargetTokenizer:
    """Turns target texts into decoder ids and generated ids back into text.

    Wraps a Hugging Face fast tokenizer: one trained here from the training
    targets (byte-level BPE, so every character of any language can be
    written and none becomes unknown), a pretrained one by name or path, or
    the shared backbone's own (needed to warm-start the decoder from the
    backbone checkpoint). The generation ids are the tokenizer's BOS/EOS/PAD
    tokens, or CLS/SEP/PAD for BERT-style vocabularies.

    tokenizer (transformers.PreTrainedTokenizerFast): The tokenizer.
    source (str): Where it came from, for messages and the pipeline meta.
    """

    def __init__(self, tokenizer: Any, source: str = "") -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise TargetTokenizerError(Errors.E017.format(source=source or repr(tokenizer)))
        self.tokenizer = tokenizer
        self.source = source
        bos = _first_id(tokenizer, "bos_token_id", "cls_token_id")
        eos = _first_id(tokenizer, "eos_token_id", "sep_token_id")
        if bos is None or eos is None:
            raise TargetTokenizerError(Errors.E018.format(source=source))
        self.bos_id: int = bos
        self.eos_id: int = eos
        pad = tokenizer.pad_token_id
        self.pad_id: int = pad if pad is not None else eos

    @property
    def vocab_size(self) -> int:
        """The number of ids, added tokens included."""
        return len(self.tokenizer)

    @classmethod
    def train(
        cls, texts: Iterable[str], *, vocab_size: int = 8000, min_frequency: int = 2
    ) -> "TargetTokenizer":
        """Train a byte-level BPE tokenizer on target texts.

        texts (Iterable[str]): The training targets.
        vocab_size (int): Largest vocabulary size, special tokens included.
        min_frequency (int): Least count for a merge to be learnt.
        RETURNS (TargetTokenizer): The trained tokenizer.
        """
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
        from transformers import PreTrainedTokenizerFast

        backend = Tokenizer(models.BPE())
        backend.normalizer = normalizers.NFC()
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(TRAINED_SPECIAL_TOKENS.values()),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        backend.train_from_iterator(texts, trainer)
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=backend,
            clean_up_tokenization_spaces=False,
            **TRAINED_SPECIAL_TOKENS,
        )
        return cls(tokenizer, source="trained")

    @classmethod
    def from_pretrained(cls, name: str) -> "TargetTokenizer":
        """Load a pretrained fast tokenizer by Hugging Face name or local path.

        name (str): A Hub name or a local directory.
        RETURNS (TargetTokenizer): The tokenizer.
        """
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(name, use_fast=True)
        except OSError as error:
            raise TargetTokenizerError(
                Errors.E019.format(name=name, error=str(error).splitlines()[0])
            ) from error
        return cls(tokenizer, source=name)

    def encode(self, texts: list[str], max_tokens: int) -> tuple[list[list[int]], int]:
        """Target ids framed for the decoder: BOS, the text's ids, EOS.

        texts (list[str]): Target texts.
        max_tokens (int): Most ids per target, BOS and EOS included; longer
            targets are cut.
        RETURNS (tuple[list[list[int]], int]): The ids of each text, and how
            many texts were cut.
        """
        encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        room = max(1, max_tokens - 2)
        framed = [[self.bos_id, *ids[:room], self.eos_id] for ids in encoded]
        return framed, sum(len(ids) > room for ids in encoded)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """How many ids each text takes, without special tokens.

        texts (list[str]): The texts.
        RETURNS (list[int]): One count per text.
        """
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def decode(self, ids: Iterable[int]) -> str:
        """Generated ids back to text, special tokens dropped.

        ids (Iterable[int]): Generated ids.
        RETURNS (str): The text.
        """
        return self.tokenizer.decode(list(ids), skip_special_tokens=True).strip()

    def to_bytes(self) -> bytes:
        """Serialize the tokenizer: its JSON definition and special tokens.

        RETURNS (bytes): The serialized tokenizer.
        """
        return srsly.msgpack_dumps(
            {
                "tokenizer": self.tokenizer.backend_tokenizer.to_str(),
                "special_tokens": _special_tokens(self.tokenizer),
                "clean_up_spaces": bool(self.tokenizer.clean_up_tokenization_spaces),
                "source": self.source,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "TargetTokenizer":
        """Load a tokenizer written by ``to_bytes``; needs no network or files.

        data (bytes): The serialized tokenizer.
        RETURNS (TargetTokenizer): The tokenizer.
        """
        from tokenizers import Tokenizer
        from transformers import PreTrainedTokenizerFast

        msg = srsly.msgpack_loads(data)
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer.from_str(msg["tokenizer"]),
            clean_up_tokenization_spaces=msg["clean_up_spaces"],
            **msg["special_tokens"],
        )
        return cls(tokenizer, source=msg.get("source", ""))


def _first_id(tokenizer: Any, *attrs: str) -> int | None:
    for attr in attrs:
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    return None


def _special_tokens(tokenizer: Any) -> dict[str, Any]:
    special = {}
    for key, value in tokenizer.special_tokens_map.items():
        special[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return special
