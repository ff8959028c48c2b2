"""The base of every head that writes text: a decoder on the shared encoding.

A ``GenerativeHead`` reads the shared transformer through a listener, like
every other head, so the backbone runs once per document whatever the heads.
Its decoder (``nlp_tasks.TransformerDecoder.v1``) cross-attends to one vector
per spaCy token of the whole document: the backbone encodes long documents in
overlapping strided windows, and the listener joins them back into one
sequence. Decoding is Hugging Face ``generate`` (greedy, beam search with length
penalty, no-repeat n-grams, KV cache), batched across docs, with settings from
the component's ``generation`` block and overridable per call.

A task plugin subclasses it and says where its gold text lives and where its
output goes (``target_of`` and ``set_output``); the core knows no task.
"""

import difflib
import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Model, Optimizer

from ..components.head import shared_transformer
from ..components.routing import accepted_docs
from ..doc_warnings import clear_doc_warnings, warn_doc
from ..errors import ArgumentError, ConfigError, Errors, GenerationSettingsError, Warnings
from ..task import is_blank
from .target_tokenizer import TargetTokenizer

#: Generation settings of a new head, unless its config says otherwise.
DEFAULT_GENERATION = {
    "max_new_tokens": 64,
    "num_beams": 4,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
}
#: Numeric settings and what each must be: Hugging Face checks few of them, and
#: num_beams=0 or length_penalty="x" fail deep inside generate().
_NUMBER_RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    **{
        key: (f"a whole number of at least {least}", lambda v, least=least: _whole(v, least))
        for key, least in (
            ("num_beams", 1),
            ("num_beam_groups", 1),
            ("max_new_tokens", 1),
            ("max_length", 1),
            ("min_new_tokens", 0),
            ("min_length", 0),
            ("no_repeat_ngram_size", 0),
            ("num_return_sequences", 1),
            ("top_k", 0),
        )
    },
    "length_penalty": ("a finite number", lambda v: _real(v)),
    "repetition_penalty": ("a number above 0", lambda v: _real(v) and v > 0),
    "temperature": ("a number above 0", lambda v: _real(v) and v > 0),
    "top_p": ("a number above 0 and at most 1", lambda v: _real(v) and 0 < v <= 1),
}
#: Settings that may be null: Hugging Face then uses another (max_length).
_MAY_BE_NONE = {"max_new_tokens", "min_new_tokens"}
#: The settings of ``cfg`` that say how to decode and read, not what was learnt:
#: a saved pipeline keeps those of the config it is loaded with.
_DECODING_SETTINGS = (
    "generation",
    "max_new_tokens_ratio",
    "max_new_tokens_offset",
    "max_source_tokens",
    "label_smoothing",
)


def _whole(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


#: Settings of beam search alone: left out when a call decodes greedily (num_beams=1),
#: where Hugging Face would refuse them.
_BEAM_ONLY = {"early_stopping", "length_penalty"}
#: Ids and switches the head sets itself; a config may not override them.
_RESERVED_GENERATION = {
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "decoder_start_token_id",
    "return_dict_in_generate",
}


def check_generation_settings(settings: dict[str, Any], *, component: str = "") -> dict[str, Any]:
    """Validate decoding settings against Hugging Face's ``GenerationConfig``.

    ``GenerationConfig`` keeps unknown keys without complaint, so a misspelt
    setting would be silently ignored; here it is an error that suggests the
    nearest valid name.

    settings (dict[str, Any]): Settings such as ``num_beams`` or ``max_new_tokens``.
    component (str): The component's name, for messages.
    RETURNS (dict[str, Any]): The settings.
    """
    from transformers import GenerationConfig

    known = set(GenerationConfig().to_dict()) - _RESERVED_GENERATION
    for key, value in settings.items():
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known), n=3)
            hint = f"did you mean: {', '.join(near)}?" if near else "no setting is named like it"
            raise GenerationSettingsError(
                Errors.E020.format(key=key, component=component, near=hint)
            )
        rule = _NUMBER_RULES.get(key)
        if rule is None or (value is None and key in _MAY_BE_NONE):
            continue
        if not rule[1](value):
            raise GenerationSettingsError(
                Errors.E157.format(key=key, component=component, rule=rule[0], value=value)
            )
    return dict(settings)


def _hf_generation_config(settings: dict[str, Any], component: str, **ids: int) -> Any:
    # Hugging Face's own rules (temperature without do_sample, early_stopping
    # values, ...), as a coded error that names the component.
    from transformers import GenerationConfig

    if settings.get("num_beams", 1) == 1:
        settings = {k: v for k, v in settings.items() if k not in _BEAM_ONLY}
    try:
        config = GenerationConfig(**settings, **ids)
        config.validate(strict=True)
    except ValueError as error:
        reason = " ".join(str(error).split())
        raise GenerationSettingsError(
            Errors.E158.format(component=component, reason=reason)
        ) from error
    return config


class GenerativeHead(TrainablePipe):
    """A trainable pipe that writes text with a decoder cross-attending to the shared backbone.

    Subclasses implement ``target_of`` (the gold text of a training example, or
    None when the example belongs to another task: missing, no loss) and
    ``set_output`` (where the generated text goes on the doc). Examples without
    a target still give the listener a (zero) gradient, so a batch of another
    task never stops the shared backbone from learning.

    vocab (Vocab): The shared vocabulary.
    model (Model): A ``nlp_tasks.TransformerDecoder.v1`` model.
    name (str): The component's name.
    target_tokenizer (str): "backbone" (the shared backbone's tokenizer; needed
        to warm-start the decoder from the backbone), "train" (byte-level BPE
        trained at ``initialize`` on the training targets) or a Hugging Face
        tokenizer name or path.
    target_vocab_size (int): Vocabulary size of a trained target tokenizer.
    max_target_tokens (int): Longest training target, in target tokens with BOS
        and EOS; longer ones are cut, with a warning that counts them.
    max_source_tokens (int): Most source tokens (spaCy tokens) the decoder
        attends to; the rest of a longer document is not seen by this head,
        with a warning.
    label_smoothing (float): Label smoothing of the cross-entropy loss.
    generation (dict[str, Any]): Hugging Face ``GenerationConfig`` settings.
    max_new_tokens_ratio (float | None): With ``max_new_tokens_offset``, a
        limit on each doc's output that follows its length: at most
        ``ratio * source tokens + offset`` target tokens (rounded up), then
        EOS; never more than ``generation.max_new_tokens`` nor fewer than its
        ``min_new_tokens``. None: only ``max_new_tokens``. It keeps a decoder
        that has not learnt to stop (early in training) from writing
        ``max_new_tokens`` for every short source.
    max_new_tokens_offset (int): The constant part of that limit.
    scorer (Callable | None): The scoring method.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str,
        *,
        target_tokenizer: str = "backbone",
        target_vocab_size: int = 8000,
        max_target_tokens: int = 128,
        max_source_tokens: int = 1024,
        label_smoothing: float = 0.0,
        generation: dict[str, Any] | None = None,
        max_new_tokens_ratio: float | None = None,
        max_new_tokens_offset: int = 10,
        scorer: Callable | None = None,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        settings = model.attrs["settings"]
        if settings["init_from_backbone"] and target_tokenizer != "backbone":
            raise ConfigError(Errors.E022.format(component=name, tokenizer=target_tokenizer))
        if max_target_tokens < 3:
            raise ConfigError(Errors.E023.format(component=name, value=max_target_tokens))
        _check_output_limit(max_new_tokens_ratio, max_new_tokens_offset, component=name)
        _check_head_settings(
            name,
            max_source_tokens=max_source_tokens,
            target_vocab_size=target_vocab_size,
            label_smoothing=label_smoothing,
        )
        self.cfg: dict[str, Any] = {
            "target_tokenizer": target_tokenizer,
            "target_vocab_size": target_vocab_size,
            "max_target_tokens": max_target_tokens,
            "max_source_tokens": max_source_tokens,
            "label_smoothing": label_smoothing,
            "generation": check_generation_settings(
                {**DEFAULT_GENERATION, **(generation or {})}, component=name
            ),
            "max_new_tokens_ratio": max_new_tokens_ratio,
            "max_new_tokens_offset": max_new_tokens_offset,
        }
        # Hugging Face's own rules, at load rather than at the first doc decoded.
        _hf_generation_config(self.cfg["generation"], name)
        self.target_tokenizer: TargetTokenizer | None = None
        self._warned_long_source = False
        self._warned_positions = False

    # What a task plugin provides.

    def target_of(self, example: Example) -> str | None:
        """The gold text of a training example for this head.

        example (Example): A training example.
        RETURNS (str | None): The target, or None if the example has none (it
            belongs to another task).
        """
        raise NotImplementedError(
            Errors.E027.format(
                head=type(self).__name__,
                method="target_of",
                purpose="gives a training example's gold text",
            )
        )

    def set_output(self, doc: Doc, text: str | None) -> None:
        """Write the generated text onto the doc.

        doc (Doc): The doc.
        text (str | None): The generated text; None for a blank doc (no tokens,
            or only whitespace tokens), which is not decoded: no output.
        """
        raise NotImplementedError(
            Errors.E027.format(
                head=type(self).__name__,
                method="set_output",
                purpose="writes the generated text onto the doc",
            )
        )

    # Prediction.

    def __call__(self, doc: Doc, **generation: Any) -> Doc:
        """Generate for one doc; keyword arguments override ``generation`` settings.

        doc (Doc): The doc, processed by the shared transformer.
        **generation: ``GenerationConfig`` settings for this call, e.g. ``num_beams=1``.
        RETURNS (Doc): The doc, with the output set.
        """
        error_handler = self.get_error_handler()
        try:
            docs = accepted_docs(self, [doc])
            if docs:
                self.set_annotations(docs, self._generate(docs, generation))
            return doc
        except Exception as error:
            error_handler(self.name, self, [doc], error)
            return doc

    def pipe(
        self, stream: Iterable[Doc], *, batch_size: int = 32, **generation: Any
    ) -> Iterator[Doc]:
        """Generate for a stream of docs, a batch at a time.

        stream (Iterable[Doc]): The docs, processed by the shared transformer.
        batch_size (int): Docs decoded together.
        **generation: ``GenerationConfig`` settings for these docs.
        YIELDS (Doc): The docs, in order, with their outputs set.
        """
        error_handler = self.get_error_handler()
        for docs in util.minibatch(stream, size=batch_size):
            try:
                chosen = accepted_docs(self, docs)
                if chosen:
                    self.set_annotations(chosen, self._generate(chosen, generation))
                yield from docs
            except Exception as error:
                error_handler(self.name, self, docs, error)

    def predict(self, docs: Iterable[Doc]) -> list[list[int]]:
        """Generate target ids for a batch of docs, with the configured settings.

        docs (Iterable[Doc]): The docs.
        RETURNS (list[list[int]]): Generated ids per doc, without BOS.
        """
        return self._generate(list(docs), {})

    def set_annotations(self, docs: Iterable[Doc], ids: list[list[int]]) -> None:
        """Decode generated ids and write the text onto each doc.

        A doc longer than ``max_source_tokens`` gets warning W013
        (``nlp_tasks.doc_warnings``): its output covers only its start.

        docs (Iterable[Doc]): The docs.
        ids (list[list[int]]): The output of ``predict``.
        """
        tokenizer = self.target_tokenizer
        limit = self.cfg["max_source_tokens"]
        for doc, doc_ids in zip(docs, ids):
            text = tokenizer.decode(doc_ids) if tokenizer is not None and doc_ids else ""
            self.set_output(doc, None if is_blank(doc) else text)
            if len(doc) > limit and not is_blank(doc):
                message = Warnings.W013.format(component=self.name, limit=limit, count=len(doc))
                warn_doc(doc, component=self.name, code="W013", message=message)
            else:
                clear_doc_warnings(doc, component=self.name, code="W013")

    def generate(self, docs: Iterable[Doc], **generation: Any) -> list[str | None]:
        """The generated text of each doc, without changing the docs.

        docs (Iterable[Doc]): Docs processed by the shared transformer.
        **generation: ``GenerationConfig`` settings for this call.
        RETURNS (list[str | None]): One text per doc; None for a blank doc.
        """
        function = f"{type(self).__name__}.generate"
        rule = "an iterable of Doc objects (from nlp or nlp.pipe)"
        if isinstance(docs, (Doc, str)) or not isinstance(docs, Iterable):
            kind = f"of type {type(docs).__name__}"
            raise ArgumentError(
                Errors.E152.format(function=function, argument="docs", rule=rule, kind=kind)
            )
        docs = list(docs)
        for doc in docs:
            if not isinstance(doc, Doc):
                kind = f"an item of type {type(doc).__name__}"
                raise ArgumentError(
                    Errors.E152.format(function=function, argument="docs", rule=rule, kind=kind)
                )
        tokenizer = self._require_tokenizer()
        return [
            None if is_blank(doc) else tokenizer.decode(ids) if ids else ""
            for doc, ids in zip(docs, self._generate(docs, generation))
        ]

    def generation_config(self, **overrides: Any) -> Any:
        """The Hugging Face ``GenerationConfig`` this head decodes with.

        **overrides: Settings replacing the configured ones.
        RETURNS (transformers.GenerationConfig): The settings, special ids filled in.
        """
        tokenizer = self._require_tokenizer()
        overrides = check_generation_settings(overrides, component=self.name)
        settings = {**self.cfg["generation"], **overrides}
        if "max_length" in overrides and "max_new_tokens" not in overrides:
            # Hugging Face lets max_new_tokens win: a per-call max_length would be ignored.
            settings["max_new_tokens"] = None
        returned = settings.get("num_return_sequences", 1)
        if returned != 1:
            raise GenerationSettingsError(Errors.E156.format(component=self.name, value=returned))
        return _hf_generation_config(
            settings,
            self.name,
            bos_token_id=tokenizer.bos_id,
            eos_token_id=tokenizer.eos_id,
            pad_token_id=tokenizer.pad_id,
            decoder_start_token_id=tokenizer.bos_id,
        )

    def _generate(self, docs: list[Doc], overrides: dict[str, Any]) -> list[list[int]]:
        from ..precision import floating_dtype
        from .decoder import decoder_module, max_target_positions

        outputs: list[list[int]] = [[] for _ in docs]
        # A blank doc has nothing to say; decoding it would make text up.
        todo = [i for i, doc in enumerate(docs) if not is_blank(doc)]
        module = decoder_module(self.model)
        if not todo or module is None:
            return outputs
        unread = [i for i in todo if not _has_transformer_output(docs[i])]
        if unread:
            raise ValueError(Errors.E160.format(component=self.name, index=unread[0]))
        config = self.generation_config(**overrides)
        self._fit_to_positions(config, max_target_positions(module))
        memory = self.model.predict([docs[i] for i in todo])
        states, mask = self._pad_memory(memory)
        # generate() is not forward(): no precision hook casts its inputs (bf16 weights).
        states = states.to(floating_dtype(module))
        limits = self._output_limits(mask, config)
        module.eval()
        generated = module.generate(states, mask, config, max_new_tokens_per_source=limits)
        generated = generated.tolist()
        for i, row in zip(todo, generated):
            outputs[i] = _strip_ids(row[1:], config.eos_token_id, config.pad_token_id)
        return outputs

    def _fit_to_positions(self, config: Any, positions: int) -> None:
        # The decoder reads at most `positions` tokens, the BOS first: asking
        # for more new tokens would index past its position embeddings.
        room = positions - 1
        asked = (
            config.max_new_tokens if config.max_new_tokens is not None else config.max_length - 1
        )
        if asked <= room and (config.min_new_tokens or 0) <= room:
            return
        if not self._warned_positions:
            self._warned_positions = True
            warnings.warn(
                Warnings.W011.format(component=self.name, asked=asked, room=room), stacklevel=3
            )
        config.max_new_tokens = min(asked, room)
        if config.min_new_tokens:
            config.min_new_tokens = min(config.min_new_tokens, room)

    def _output_limits(self, mask: Any, config: Any) -> Any:
        # Each doc's own limit, from the source tokens the decoder attends to;
        # the batch's max_new_tokens then stops at the longest of them.
        ratio = self.cfg.get("max_new_tokens_ratio")
        if ratio is None:
            return None
        offset = self.cfg["max_new_tokens_offset"]
        # The config's own bounds, as new tokens (max_length and min_length count the BOS).
        most = config.max_new_tokens if config.max_new_tokens is not None else config.max_length - 1
        least = config.min_new_tokens or max((config.min_length or 0) - 1, 0)
        # Clamped before the cast: a huge ratio must not overflow the integers.
        lengths = mask.sum(dim=1).double() * ratio + offset
        limits = lengths.clamp(min=least, max=most).ceil().long()
        # Room for the longest limit's tokens and its forced EOS.
        config.max_new_tokens = min(most, int(limits.max()) + 1)
        return limits

    # Training.

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optimizer | None = None,
        losses: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """Learn from a batch; examples without a target are masked out.

        The listener always receives a gradient for the whole batch (zero for
        examples without a target), because the shared transformer learns only
        when the last listening head in the pipeline has backpropagated.

        examples (Iterable[Example]): The batch.
        drop (float): Unused: the decoder's dropout is set in its model config.
        sgd (Optimizer | None): The optimizer; None (or False) leaves the step
            to ``finish_update``, as ``spacy train`` does.
        losses (dict[str, float] | None): Losses by component, updated.
        RETURNS (dict[str, float]): The updated losses.
        """
        import torch
        from thinc.api import torch2xp, xp2torch

        from .decoder import decoder_module

        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "GenerativeHead.update")
        docs = [eg.predicted for eg in examples]
        memory, backprop = self.model.begin_update(docs)
        d_memory = [self.model.ops.alloc2f(*vectors.shape) for vectors in memory]
        targets = [self.target_of(eg) for eg in examples]
        gold = [i for i, target in enumerate(targets) if target is not None and len(docs[i])]
        module = decoder_module(self.model)
        if gold and module is not None:
            tokenizer = self._require_tokenizer()
            limit = self.cfg["max_source_tokens"]
            leaves = [xp2torch(memory[i][:limit], requires_grad=True) for i in gold]
            states, mask = _pad(leaves)
            ids, _ = tokenizer.encode([targets[i] for i in gold], self.cfg["max_target_tokens"])
            inputs, attention, labels = _teacher_forcing(ids, tokenizer.pad_id, states.device)
            module.train()
            logits = module(states, mask, inputs, attention)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                labels.reshape(-1),
                ignore_index=-100,
                label_smoothing=self.cfg["label_smoothing"],
            )
            loss.backward()
            for i, leaf in zip(gold, leaves):
                d_memory[i][: leaf.shape[0]] = torch2xp(leaf.grad)
            losses[self.name] += float(loss.detach())
        backprop(d_memory)
        if sgd not in (None, False):
            self.finish_update(sgd)
        return losses

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Language | None = None,
        train_path: str | Path | None = None,
    ) -> None:
        """Make the target tokenizer and the decoder, from the training data.

        A trained target tokenizer learns from every target it is given, and
        over-long targets are counted (a warning). ``spacy train`` gives a
        streamed corpus's first 100 examples only, of every task: a
        vocabulary learnt from the few targets among them cuts the others'
        words into characters. Generated configs therefore name the task's
        training file in ``[initialize.components.<name>] train_path``, and the
        targets are read from all of it.

        get_examples (Callable[[], Iterable[Example]]): The training examples.
        nlp (Language | None): The pipeline, to find the shared transformer
            (its tokenizer and checkpoint).
        train_path (str | Path | None): The task's JSONL training records, read
            for their targets (needs ``nlp``); None: the targets of ``get_examples``.
        """
        from .decoder import build_decoder, max_target_positions

        validate_get_examples(get_examples, f"{type(self).__name__}.initialize")
        examples = get_examples() if train_path is None else self._read_examples(nlp, train_path)
        targets = [t for t in map(self.target_of, examples) if t is not None]
        if not targets:
            raise ValueError(Errors.E021.format(component=self.name))
        upstream = (
            shared_transformer(nlp, component=self.name, model=self.model)
            if nlp is not None
            else None
        )
        self.target_tokenizer = self._make_tokenizer(targets, upstream)
        sample = [eg.predicted for eg in islice(get_examples(), 10)]
        self.model.initialize(X=sample)
        backbone = upstream.model.attrs.get("name") if upstream is not None else None
        if self.model.attrs["settings"]["init_from_backbone"] and backbone is None:
            raise ValueError(Errors.E024.format(component=self.name))
        tokenizer = self.target_tokenizer
        module = build_decoder(
            self.model,
            vocab_size=tokenizer.vocab_size,
            bos_id=tokenizer.bos_id,
            eos_id=tokenizer.eos_id,
            pad_id=tokenizer.pad_id,
            memory_width=_listener_width(self.model),
            backbone=backbone,
        )
        limit = min(self.cfg["max_target_tokens"], max_target_positions(module))
        self.cfg["max_target_tokens"] = limit
        lengths = tokenizer.count_tokens(targets)
        cut = sum(length + 2 > limit for length in lengths)
        if cut:
            warnings.warn(
                Warnings.W004.format(
                    count=cut,
                    total=len(targets),
                    component=self.name,
                    limit=limit,
                    longest=max(lengths) + 2,
                ),
                stacklevel=2,
            )

    def _read_examples(self, nlp: Language | None, path: str | Path) -> Iterable[Example]:
        # Read through the multi-task corpus, so that a bad record names its
        # file and line as in training.
        from ..registry import manager as plugins
        from ..training.corpus import MultiTaskCorpus

        task = (
            None if nlp is None else plugins.task_for_factory(nlp.get_pipe_meta(self.name).factory)
        )
        if task is None:
            raise ValueError(Errors.E141.format(component=self.name, path=path))
        return MultiTaskCorpus({task.name: path})(nlp)

    def _make_tokenizer(self, targets: list[str], upstream: Any) -> TargetTokenizer:
        spec = self.cfg["target_tokenizer"]
        if spec == "train":
            return TargetTokenizer.train(targets, vocab_size=self.cfg["target_vocab_size"])
        if spec == "backbone":
            if upstream is None:
                raise ValueError(Errors.E024.format(component=self.name))
            return TargetTokenizer(upstream.model.tokenizer, source="backbone")
        return TargetTokenizer.from_pretrained(spec)

    def _require_tokenizer(self) -> TargetTokenizer:
        if self.target_tokenizer is None:
            raise ValueError(Errors.E025.format(component=self.name))
        return self.target_tokenizer

    def _pad_memory(self, memory: list[Any]) -> tuple[Any, Any]:
        from thinc.api import xp2torch

        limit = self.cfg["max_source_tokens"]
        long = sum(len(vectors) > limit for vectors in memory)
        if long and not self._warned_long_source:
            self._warned_long_source = True
            warnings.warn(
                Warnings.W005.format(count=long, component=self.name, limit=limit), stacklevel=2
            )
        return _pad([xp2torch(vectors[:limit]) for vectors in memory])

    # Serialization: the config, the target tokenizer and the model (the
    # decoder's weights carry its Hugging Face config, see decoder.py).

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Serialize the component.

        exclude (Iterable[str]): Fields to leave out.
        RETURNS (bytes): The serialized component.
        """
        serialize = {
            "cfg": lambda: srsly.json_dumps(self.cfg),
            "target_tokenizer": lambda: self._tokenizer_bytes(),
            "model": lambda: self.model.to_bytes(),
        }
        return util.to_bytes(serialize, exclude)

    def from_bytes(
        self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()
    ) -> "GenerativeHead":
        """Load the component from bytes.

        bytes_data (bytes): The data.
        exclude (Iterable[str]): Fields to leave out.
        RETURNS (GenerativeHead): The component.
        """
        deserialize = {
            "cfg": lambda b: self._restore_cfg(srsly.json_loads(b)),
            "target_tokenizer": lambda b: self._load_tokenizer(b),
            "model": lambda b: self.model.from_bytes(b),
        }
        util.from_bytes(bytes_data, deserialize, exclude)
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = tuple()) -> None:
        """Save the component to a directory.

        path (str | Path): The directory.
        exclude (Iterable[str]): Fields to leave out.
        """
        serialize = {
            "cfg": lambda p: srsly.write_json(p, self.cfg),
            "target_tokenizer": lambda p: p.write_bytes(self._tokenizer_bytes()),
            "model": lambda p: p.write_bytes(self.model.to_bytes()),
        }
        util.to_disk(path, serialize, exclude)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = tuple()) -> "GenerativeHead":
        """Load the component from a directory.

        path (str | Path): The directory.
        exclude (Iterable[str]): Fields to leave out.
        RETURNS (GenerativeHead): The component.
        """
        deserialize = {
            "cfg": lambda p: self._restore_cfg(srsly.read_json(p)),
            "target_tokenizer": lambda p: self._load_tokenizer(p.read_bytes()),
            "model": lambda p: self.model.from_bytes(p.read_bytes()),
        }
        util.from_disk(path, deserialize, exclude)
        return self

    def _restore_cfg(self, saved: dict[str, Any]) -> None:
        # The decoding settings stay those of the config the pipeline is built
        # from (saved in config.cfg too), so spacy.load(..., config=...) or an
        # edited config.cfg can change them; the rest describes the weights.
        kept = {key: self.cfg[key] for key in _DECODING_SETTINGS}
        self.cfg.update(saved)
        self.cfg.update(kept)

    def _tokenizer_bytes(self) -> bytes:
        return self.target_tokenizer.to_bytes() if self.target_tokenizer is not None else b""

    def _load_tokenizer(self, data: bytes) -> None:
        self.target_tokenizer = TargetTokenizer.from_bytes(data) if data else None


def _check_output_limit(ratio: float | None, offset: int, *, component: str = "") -> None:
    """Validate a head's output limit that follows the source's length.

    ratio (float | None): Target tokens allowed per source token; None for no such limit.
    offset (int): Target tokens allowed on top.
    component (str): The component's name, for messages.
    """
    bad_ratio = ratio is not None and (
        isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 0
    )
    bad_offset = isinstance(offset, bool) or not isinstance(offset, int) or offset < 0
    if bad_ratio or bad_offset:
        raise ConfigError(Errors.E155.format(component=component, ratio=ratio, offset=offset))


def _has_transformer_output(doc: Doc) -> bool:
    # A doc from nlp.make_doc has spacy-transformers' empty default: the
    # listener would read zeros and the decoder translate nothing into text.
    data = doc._.trf_data if Doc.has_extension("trf_data") else None
    return data is not None and len(data.tensors) > 0


def _check_head_settings(component: str, **settings: Any) -> None:
    rules = {
        "max_source_tokens": ("a whole number of at least 1", lambda v: _whole(v, 1)),
        "target_vocab_size": ("a whole number of at least 1", lambda v: _whole(v, 1)),
        "label_smoothing": ("a number from 0 to below 1", lambda v: _real(v) and 0 <= v < 1),
    }
    for key, value in settings.items():
        rule, check = rules[key]
        if not check(value):
            raise ConfigError(
                Errors.E159.format(component=component, key=key, rule=rule, value=value)
            )


def _listener_width(model: Model) -> int:
    for node in model.walk():
        if node.name == "transformer-listener" and node.has_dim("nO"):
            return int(node.get_dim("nO"))
    raise ConfigError(Errors.E028)


def _pad(sequences: list[Any]) -> tuple[Any, Any]:
    import torch

    lengths = torch.tensor([len(seq) for seq in sequences])
    padded = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True)
    mask = (torch.arange(padded.shape[1])[None, :] < lengths[:, None]).long()
    return padded, mask.to(padded.device)


def _teacher_forcing(ids: list[list[int]], pad_id: int, device: Any) -> tuple[Any, Any, Any]:
    # Input BOS y1 .. yn predicts y1 .. yn EOS.
    import torch

    width = max(len(seq) for seq in ids) - 1
    inputs = torch.full((len(ids), width), pad_id, dtype=torch.long)
    labels = torch.full((len(ids), width), -100, dtype=torch.long)
    attention = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        n = len(seq) - 1
        inputs[row, :n] = torch.tensor(seq[:-1])
        labels[row, :n] = torch.tensor(seq[1:])
        attention[row, :n] = 1
    return inputs.to(device), attention.to(device), labels.to(device)


def _strip_ids(ids: list[int], eos_id: int, pad_id: int) -> list[int]:
    kept = []
    for token in ids:
        if token == eos_id:
            break
        if token != pad_id:
            kept.append(token)
    return kept
