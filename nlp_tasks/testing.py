"""Helpers for testing task plugins: a tiny offline backbone and a short training loop.

Nothing here touches the network: the backbone is a randomly initialized
BERT with a WordPiece vocabulary built from the words of the texts you give.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.training import Example

from .task import Task

_DEFAULT_TEXTS = (
    "The quick brown fox jumps over the lazy dog near Paris.",
    "Acme Corp hired Jane Smith as chief executive in London.",
    "I loved this film, the acting was wonderful and moving.",
    "The service was slow and the food arrived cold and bland.",
)
#: Texts with nothing to read, which ``check_task`` also processes: no tokens, or
#: only whitespace tokens (``nlp_tasks.task.is_blank``).
BLANK_TEXTS = ("", " ", "\n\t ")


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
    special_tokens: bool = False,
) -> Path:
    """Write a tiny BERT model and tokenizer to ``path``, for tests.

    path (str | Path): Output directory; a Hugging Face model directory afterwards.
    texts (Iterable[str]): Texts whose words, by frequency, make the vocabulary.
    hidden_size (int): Model width.
    num_layers (int): Transformer layers.
    num_heads (int): Attention heads.
    vocab_size (int): Largest vocabulary size.
    max_positions (int): Longest wordpiece sequence.
    seed (int): Seed for the random weights.
    special_tokens (bool): Wrap texts as a real BERT tokenizer does, ``[CLS] A
        [SEP]`` and ``[CLS] A [SEP] B [SEP]`` with segment ids, so that pairs of
        texts and their overflowing windows come out right (heads that encode
        text pairs need it). Off by default, which keeps the tiny models that
        existing tests were tuned on; but then a whitespace-only text has no
        wordpieces at all, which spacy-transformers cannot align, so a pipeline
        on it fails on ``nlp(" ")``. Turn it on to test blank input.
    RETURNS (Path): ``path``.
    """
    import torch
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocab = _word_vocabulary(texts, normalizer, pre_tokenizer, vocab_size)
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    if special_tokens:
        cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
        )
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


def _word_vocabulary(
    texts: Iterable[str], normalizer: Any, pre_tokenizer: Any, vocab_size: int
) -> dict[str, int]:
    # Hugging Face's WordPieceTrainer breaks ties between equally frequent
    # merges differently in each process, so tests saw a different vocabulary
    # in every run. Whole words by frequency over a full character alphabet is
    # the same everywhere, and unseen words still split into wordpieces.
    counts: Counter[str] = Counter()
    for text in texts:
        normalized = normalizer.normalize_str(text)
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalized))
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz").union(*counts))
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += chars + [f"##{char}" for char in chars]
    seen = set(tokens)
    for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if len(tokens) >= vocab_size:
            break
        if word not in seen:
            tokens.append(word)
            seen.add(word)
    return {token: index for index, token in enumerate(tokens)}


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


@dataclass
class TaskCheck:
    """What ``check_task`` found for one task.

    task (str): The task name.
    model_path (Path): The trained pipeline (``spacy train``'s ``model-last``).
    loss_before (float): The task's loss on the records before training.
    loss_after (float): The same loss after training, on the saved and reloaded pipeline.
    scores (dict[str, Any]): The pipeline's scores on the records, from ``nlp.evaluate``.
    outputs (list[dict[str, Any]]): ``Task.to_json`` of each record's doc (made
        as ``make_example`` makes it: a text, a pair...), as a fresh interpreter
        computed it from the saved pipeline.
    blank_outputs (list[dict[str, Any] | None]): ``Task.to_json`` of each of
        ``BLANK_TEXTS`` (empty, and whitespace only), computed the same way: the
        task's documented non-answer; None where the task does not take a plain
        text (a pair task), so its head left the doc alone.
    """

    task: str
    model_path: Path
    loss_before: float
    loss_after: float
    scores: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    blank_outputs: list[dict[str, Any] | None] = field(default_factory=list)


def check_task(
    task_name: str,
    records: list[dict[str, Any]],
    path: str | Path,
    *,
    steps: int = 30,
    learn_rate: float = 1e-3,
    backbone: str | Path | None = None,
) -> TaskCheck:
    """Run a task plugin through the whole life of a pipeline, on a tiny backbone.

    The same path a user takes: ``nlp-tasks init config`` (``make_config``),
    ``spacy train`` on a JSONL file of ``records``, save, ``nlp_tasks.load`` in a
    fresh interpreter, process each record's doc (made as the task's
    ``make_example`` makes it, so a pair task gets pair docs) and turn it into
    JSON with the task's ``to_json``, and the same for ``BLANK_TEXTS`` (empty
    and whitespace-only texts, which must not crash the task, alone, in a batch
    of nothing else, or mixed with the task's docs). Fails with an
    ``AssertionError`` that says which stage broke: the loss did not fall, the
    output is not JSON, or the reloaded pipeline disagrees with the trained one.

    task_name (str): A task provided by an installed plugin.
    records (list[dict]): A handful of training records in the task's format;
        they are also the dev set and the texts to process.
    path (str | Path): A scratch directory (pytest's ``tmp_path``).
    steps (int): Training steps.
    learn_rate (float): Peak learning rate; high, since the backbone is tiny.
    backbone (str | Path | None): A backbone to use instead of a tiny BERT
        built from the records' texts. The tiny BERT frames texts with [CLS]
        and [SEP] as real BERT tokenizers do, so a whitespace-only text still
        has wordpieces.
    RETURNS (TaskCheck): The losses, scores and outputs, for further asserts.
    """
    import io
    import json
    import subprocess
    import sys

    import spacy
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train

    from .inference import load
    from .registry import manager as plugins
    from .training.config import make_config
    from .training.corpus import make_task_example

    task = plugins.get_task(task_name)
    path = Path(path)
    data = path / "data"
    source = data / task.name / "train.jsonl"
    source.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    for split in ("train", "dev"):
        (data / task.name / f"{split}.jsonl").write_text(lines, encoding="utf8")
    blank = spacy.blank("en")
    examples = [
        make_task_example(task, blank, record, path=source, line=line)
        for line, record in enumerate(records, start=1)
    ]
    texts = [eg.reference.text for eg in examples]
    if backbone is None:
        backbone = make_tiny_backbone(path / "backbone", texts, special_tokens=True)
    config = make_config(
        [task.name],
        backbone=str(backbone),
        max_steps=steps,
        eval_frequency=steps,
        learn_rate=learn_rate,
        # A tiny backbone starts untrained: it learns at the heads' rate.
        backbone_learn_rate_scale=1.0,
    )
    config["paths"]["data"] = str(data)
    config.to_disk(path / "config.cfg")

    loss_before = _task_loss(init_nlp(config), task.name, records, source)
    log = io.StringIO()
    nlp = init_nlp(config)
    (path / "training").mkdir(parents=True, exist_ok=True)
    train(nlp, path / "training", stdout=log, stderr=log)
    model_path = path / "training" / "model-last"
    assert model_path.is_dir(), f"spacy train wrote no pipeline:\n{log.getvalue()}"

    trained = load(model_path)
    loss_after = _task_loss(trained, task.name, records, source)
    assert loss_after < loss_before, (
        f"The '{task.name}' loss did not fall in {steps} steps "
        f"({loss_before:.4f} -> {loss_after:.4f}). Training log:\n{log.getvalue()}"
    )
    scores = trained.evaluate(
        [make_task_example(task, trained, r, path=source, line=i) for i, r in enumerate(records, 1)]
    )
    expected = []
    try:
        docs = list(trained.pipe(BLANK_TEXTS))
    except Exception as error:
        raise AssertionError(
            f"The trained pipeline failed on blank texts {BLANK_TEXTS!r}: {error!r}. A head "
            "should give no output for them (see nlp_tasks.task.is_blank), not fail."
        ) from error
    # One text alone, batches of nothing but empty or blank docs, and blank docs
    # mixed with the task's own docs: a head must give them no output, in
    # whatever company.
    mixed = ["", task_docs(task, trained, records, source)[0], "\n\t "]
    for batch in ([""], ["", ""], [" ", " "], mixed):
        try:
            list(trained.pipe(batch))
        except Exception as error:
            raise AssertionError(
                f"The trained pipeline failed on the batch {batch!r}: {error!r}. A head "
                "should give blank docs no output (see nlp_tasks.is_blank), not fail, "
                "also when the batch holds nothing else."
            ) from error
    for doc in [*trained.pipe(task_docs(task, trained, records, source)), *docs]:
        output = task.to_json(doc) if task.accepts(doc) else None
        try:
            expected.append(json.loads(json.dumps(output)))
        except (TypeError, ValueError) as error:
            raise AssertionError(
                f"Task '{task.name}' to_json returned data that is not JSON: {error}: {output!r}"
            ) from None

    script = (
        "import json, sys\n"
        "import nlp_tasks\n"
        "from nlp_tasks.registry.manager import get_task\n"
        "from nlp_tasks.testing import task_docs\n"
        "nlp = nlp_tasks.load(sys.argv[1])\n"
        "task = get_task(sys.argv[2])\n"
        "records, blank = json.loads(sys.stdin.read())\n"
        "docs = [*task_docs(task, nlp, records, sys.argv[3]), *blank]\n"
        "outputs = [task.to_json(d) if task.accepts(d) else None for d in nlp.pipe(docs)]\n"
        "print(json.dumps(outputs))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(model_path), task.name, str(source)],
        input=json.dumps([records, list(BLANK_TEXTS)]),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        f"Loading the saved pipeline in a fresh interpreter failed:\n{result.stderr}"
    )
    outputs = json.loads(result.stdout.strip().splitlines()[-1])
    assert outputs == expected, (
        f"The reloaded pipeline's '{task.name}' output differs from the trained one's:\n"
        f"trained:  {expected}\nreloaded: {outputs}"
    )
    scores = {key: value for key, value in scores.items() if key != "speed"}
    blank_outputs = outputs[len(records) :]
    outputs = outputs[: len(records)]
    return TaskCheck(task.name, model_path, loss_before, loss_after, scores, outputs, blank_outputs)


def task_docs(
    task: Task | str, nlp: Language, records: list[dict[str, Any]], source: str | Path
) -> list[Any]:
    """The docs of a task's records as its head sees them at prediction.

    Each is the ``predicted`` doc of the record's training example: the text,
    or the pair, with the inputs the task declares (questions...), no gold.

    task (Task | str): The task, or its name (as ``check_task`` takes it).
    nlp (Language): The pipeline, for its tokenizer.
    records (list[dict[str, Any]]): Records in the task's training format.
    source (str | Path): Names the records' file in error messages.
    RETURNS (list[Doc]): One unprocessed doc per record.
    """
    from .registry import manager as plugins
    from .training.corpus import make_task_example

    if isinstance(task, str):
        task = plugins.get_task(task)

    return [
        make_task_example(task, nlp, record, path=source, line=line).predicted
        for line, record in enumerate(records, start=1)
    ]


def _task_loss(nlp: Language, component: str, records: list[dict[str, Any]], source: Path) -> float:
    # A forward and backward pass with sgd=False computes the loss without
    # changing any weight; callers throw the pipeline away or only read it.
    from .registry import manager as plugins
    from .training.corpus import make_task_example

    task = plugins.get_task(component)
    examples = [
        make_task_example(task, nlp, record, path=source, line=line)
        for line, record in enumerate(records, start=1)
    ]
    losses: dict[str, float] = {}
    nlp.update(examples, drop=0.0, sgd=False, losses=losses)
    return float(losses.get(component, 0.0))
