"""Helpers for testing task plugins: a tiny offline backbone and a short training loop.

Nothing here touches the network: the backbone is a randomly initialized
BERT with a WordPiece vocabulary trained on the texts you give.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.training import Example

_DEFAULT_TEXTS = (
    "The quick brown fox jumps over the lazy dog near Paris.",
    "Acme Corp hired Jane Smith as chief executive in London.",
    "I loved this film, the acting was wonderful and moving.",
    "The service was slow and the food arrived cold and bland.",
)


def make_tiny_backbone(
    path: str | Path,
    texts: Iterable[str] = _DEFAULT_TEXTS,
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    vocab_size: int = 400,
    max_positions: int = 512,
    seed: int = 0,
) -> Path:
    """Write a tiny BERT model and tokenizer to ``path``, for tests.

    path (str | Path): Output directory; a Hugging Face model directory afterwards.
    texts (Iterable[str]): Texts to train the WordPiece vocabulary on.
    hidden_size (int): Model width.
    num_layers (int): Transformer layers.
    num_heads (int): Attention heads.
    vocab_size (int): Largest vocabulary size.
    max_positions (int): Longest wordpiece sequence.
    seed (int): Seed for the random weights.
    RETURNS (Path): ``path``.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=special)
    tokenizer.train_from_iterator(list(texts) + [" ".join("abcdefghijklmnopqrstuvwxyz")], trainer)
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=max_positions)
    fast.save_pretrained(str(path))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=max_positions,
    )
    BertModel(config).save_pretrained(str(path))
    return path


def train_steps(
    nlp: Language,
    optimizer: Any,
    examples: list[Example],
    steps: int,
    *,
    batch_size: int = 8,
    drop: float = 0.0,
) -> list[dict[str, float]]:
    """Train an initialized pipeline for a number of steps, as ``spacy train`` does.

    Updates run with ``sgd=False`` and then every component's
    ``finish_update``, so the shared transformer steps on the same batch
    (``nlp.update(sgd=...)`` would apply its step one batch late).

    nlp (Language): An initialized pipeline.
    optimizer (thinc.api.Optimizer): The optimizer ``nlp.initialize`` returned.
    examples (list[Example]): Training examples, cycled in order.
    steps (int): Number of updates.
    batch_size (int): Examples per update.
    drop (float): Dropout rate.
    RETURNS (list[dict[str, float]]): The losses of every step.
    """
    history = []
    for step in range(steps):
        start = (step * batch_size) % len(examples)
        batch = (examples[start:] + examples[:start])[:batch_size]
        losses: dict[str, float] = {}
        nlp.update(batch, drop=drop, sgd=False, losses=losses)
        for _, component in nlp.pipeline:
            if hasattr(component, "finish_update") and getattr(component, "is_trainable", False):
                component.finish_update(optimizer)
        history.append(losses)
    return history


def backbone_parameters(nlp: Language) -> Any:
    """A copy of the shared transformer's weights, to compare before and after updates.

    nlp (Language): A pipeline with a ``transformer`` component.
    RETURNS (dict[str, torch.Tensor]): Parameter name to a detached copy.
    """
    transformer = nlp.get_pipe("transformer").model.transformer
    return {name: p.detach().clone() for name, p in transformer.named_parameters()}
