"""A text decoder that cross-attends to the shared backbone's token vectors.

The model of every generative head (``nlp_tasks.TransformerDecoder.v1``): its
thinc part is the head's listener, which turns the shared transformer's output
into one vector per spaCy token for each doc (the *memory*); its PyTorch part,
held in a shim, is a Hugging Face causal language model with cross-attention
(``is_decoder`` and ``add_cross_attention``), so training, beam search, the KV
cache and every decoding setting come from Hugging Face's ``generate``.

The decoder is built at ``initialize``, once its vocabulary (the target
tokenizer) and the memory's width are known, either fresh or warm-started from
the backbone checkpoint (BERT2BERT style). Its Hugging Face config is saved
with its weights, so a saved pipeline rebuilds it without the checkpoint.
"""

from io import BytesIO
from typing import Any

import srsly
import torch
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, PyTorchShim, get_torch_default_device
from thinc.types import Floats2d

from ..components.optimizer import use_in_place_updates
from ..components.thinc_adapter import set_shim_module, torch_module
from ..errors import ConfigError, Errors


class DecoderModule(torch.nn.Module):
    """A causal LM with cross-attention, and a projection of the memory to its width.

    decoder (transformers.PreTrainedModel): A causal LM built with
        ``is_decoder=True, add_cross_attention=True``.
    memory_width (int): Width of the memory vectors (the backbone's width).
    """

    def __init__(self, decoder: Any, memory_width: int) -> None:
        super().__init__()
        self.decoder = decoder
        self.memory_width = memory_width
        width = decoder.config.hidden_size
        self.bridge: torch.nn.Module = (
            torch.nn.Identity() if width == memory_width else torch.nn.Linear(memory_width, width)
        )

    def forward(
        self,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Next-token logits for teacher-forced target ids.

        memory (torch.Tensor): (batch, source length, memory width).
        memory_mask (torch.Tensor): (batch, source length), 1 for real tokens.
        input_ids (torch.Tensor): (batch, target length), starting with BOS.
        attention_mask (torch.Tensor): (batch, target length).
        RETURNS (torch.Tensor): (batch, target length, vocabulary) logits.
        """
        return self.decoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            encoder_hidden_states=self.bridge(memory),
            encoder_attention_mask=memory_mask,
            use_cache=False,
        ).logits

    @torch.no_grad()
    def generate(
        self,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
        generation_config: Any,
        *,
        max_new_tokens_per_source: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode with Hugging Face generation (greedy, beam search, sampling, ...).

        memory (torch.Tensor): (batch, source length, memory width).
        memory_mask (torch.Tensor): (batch, source length).
        generation_config (transformers.GenerationConfig): Decoding settings,
            with the special ids filled in.
        max_new_tokens_per_source (torch.Tensor | None): (batch,) the most
            tokens each source's output may have before its EOS, which is then
            forced; None for no limit but the config's.
        RETURNS (torch.Tensor): (batch, length) ids, starting with BOS.
        """
        from transformers import LogitsProcessorList

        processors = []
        if max_new_tokens_per_source is not None:
            eos_id = generation_config.eos_token_id
            processors.append(EndAtLength(max_new_tokens_per_source, start_length=1, eos_id=eos_id))
        batch = memory.shape[0]
        start = torch.full(
            (batch, 1),
            generation_config.decoder_start_token_id,
            dtype=torch.long,
            device=memory.device,
        )
        return self.decoder.generate(
            input_ids=start,
            attention_mask=torch.ones_like(start),
            encoder_hidden_states=self.bridge(memory),
            encoder_attention_mask=memory_mask,
            generation_config=generation_config,
            logits_processor=LogitsProcessorList(processors),
        )


class EndAtLength:
    """A Hugging Face logits processor that ends each row at its own length.

    Hugging Face's ``max_new_tokens`` is one limit for the whole batch; this
    forces EOS on a row once it has written its own number of tokens, the way
    Hugging Face forces EOS at ``max_length``. Beam search and sampling expand
    each source into consecutive rows, so row ``r`` belongs to source
    ``r // (rows // batch)``. Constrained beam search (``force_words_ids``) may
    still run past a limit too short for its forced words.

    limits (torch.Tensor): (batch,) the most tokens each source's output may
        have before its EOS.
    start_length (int): Length of the decoder's input before generation (1: BOS).
    eos_id (int): The EOS id.
    """

    def __init__(self, limits: torch.Tensor, *, start_length: int, eos_id: int) -> None:
        self.limits = limits.long()
        self.start_length = start_length
        self.eos_id = eos_id
        self._row_limits: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self._row_limits is None:
            rows = input_ids.shape[0]
            limits = self.limits.to(input_ids.device)
            self._row_limits = limits.repeat_interleave(rows // len(limits))
        ended = (input_ids.shape[1] - self.start_length >= self._row_limits)[:, None]
        # No branch on ended.any(): that would wait for the GPU at every step.
        forced = torch.full_like(scores, float("-inf"))
        forced[:, self.eos_id] = 0.0
        return torch.where(ended, forced, scores)


@registry.architectures("nlp_tasks.TransformerDecoder.v1")
def build_transformer_decoder(
    tok2vec: Model[list[Doc], list[Floats2d]],
    hidden_width: int = 256,
    depth: int = 3,
    heads: int = 4,
    ffn_width: int = 1024,
    dropout: float = 0.1,
    max_positions: int = 256,
    init_from_backbone: bool = False,
) -> Model[list[Doc], list[Floats2d]]:
    """A transformer decoder cross-attending to the shared backbone, through a listener.

    The model's forward pass gives the memory (one vector per token of each
    doc); the generative head runs the decoder in its shim.

    tok2vec (Model[List[Doc], List[Floats2d]]): The listener to the shared transformer.
    hidden_width (int): Width of a fresh decoder.
    depth (int): Layers of a fresh decoder.
    heads (int): Attention heads of a fresh decoder.
    ffn_width (int): Feed-forward width of a fresh decoder.
    dropout (float): Dropout of a fresh decoder.
    max_positions (int): Longest target of a fresh decoder, in target tokens.
    init_from_backbone (bool): Warm-start the decoder from the backbone
        checkpoint (its layers, width and vocabulary; the cross-attention is
        new). Needs the backbone's tokenizer as the target tokenizer.
    RETURNS (Model[List[Doc], List[Floats2d]]): The model.
    """
    settings = {
        "hidden_width": hidden_width,
        "depth": depth,
        "heads": heads,
        "ffn_width": ffn_width,
        "dropout": dropout,
        "max_positions": max_positions,
        "init_from_backbone": init_from_backbone,
    }
    if hidden_width % heads:
        raise ConfigError(Errors.E026.format(hidden_width=hidden_width, heads=heads))
    if isinstance(max_positions, bool) or not isinstance(max_positions, int) or max_positions < 3:
        # BOS, one token and EOS: the shortest target (E023).
        raise ConfigError(
            Errors.E159.format(
                key="max_positions",
                component="nlp_tasks.TransformerDecoder.v1",
                rule="a whole number of at least 3 (BOS, a token, EOS)",
                value=max_positions,
            )
        )
    shim = PyTorchShim(
        None, serialize_model=_serialize_decoder, deserialize_model=_deserialize_decoder
    )
    model = Model(
        "transformer_decoder",
        _forward,
        init=_init,
        layers=[tok2vec],
        refs={"tok2vec": tok2vec},
        shims=[shim],
        attrs={"settings": settings},
    )
    return use_in_place_updates(model)


def _forward(model: Model, docs: list[Doc], is_train: bool) -> tuple[list[Floats2d], Any]:
    return model.layers[0](docs, is_train)


def _init(model: Model, X: Any = None, Y: Any = None) -> None:
    model.layers[0].initialize(X=X)


def decoder_module(model: Model) -> DecoderModule | None:
    """The PyTorch decoder of a ``TransformerDecoder`` model, once built.

    model (Model): A model made by ``nlp_tasks.TransformerDecoder.v1``.
    RETURNS (DecoderModule | None): The decoder, or None before ``build_decoder``.
    """
    return torch_module(model)


def build_decoder(
    model: Model,
    *,
    vocab_size: int,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    memory_width: int,
    backbone: str | None = None,
) -> DecoderModule:
    """Create the PyTorch decoder of a ``TransformerDecoder`` model, fresh or warm-started.

    model (Model): A model made by ``nlp_tasks.TransformerDecoder.v1``.
    vocab_size (int): Size of the target vocabulary.
    bos_id (int): Id that starts every target.
    eos_id (int): Id that ends every target.
    pad_id (int): Id of padding.
    memory_width (int): Width of the memory vectors.
    backbone (str | None): The backbone's local directory or Hub name, for a
        warm start (``init_from_backbone``).
    RETURNS (DecoderModule): The decoder, also stored in the model's shim.
    """
    from transformers import AutoModelForCausalLM, BertConfig

    settings = model.attrs["settings"]
    special = {"bos_token_id": bos_id, "eos_token_id": eos_id, "pad_token_id": pad_id}
    if settings["init_from_backbone"]:
        decoder = AutoModelForCausalLM.from_pretrained(
            backbone, is_decoder=True, add_cross_attention=True, **special
        )
        if decoder.get_input_embeddings().num_embeddings < vocab_size:
            decoder.resize_token_embeddings(vocab_size)
    else:
        config = BertConfig(
            vocab_size=vocab_size,
            hidden_size=settings["hidden_width"],
            num_hidden_layers=settings["depth"],
            num_attention_heads=settings["heads"],
            intermediate_size=settings["ffn_width"],
            hidden_dropout_prob=settings["dropout"],
            attention_probs_dropout_prob=settings["dropout"],
            max_position_embeddings=settings["max_positions"],
            is_decoder=True,
            add_cross_attention=True,
            **special,
        )
        decoder = AutoModelForCausalLM.from_config(config)
    module = DecoderModule(decoder, memory_width)
    set_shim_module(model.shims[0], module.to(get_torch_default_device()))
    return module


def max_target_positions(module: DecoderModule) -> int:
    """The longest target the decoder can read, in target tokens.

    module (DecoderModule): The decoder.
    RETURNS (int): Its position limit.
    """
    return int(module.decoder.config.max_position_embeddings)


def _serialize_decoder(module: DecoderModule | None) -> bytes:
    if module is None:
        return b""
    weights = BytesIO()
    torch.save(module.state_dict(), weights)
    return srsly.msgpack_dumps(
        {
            "config": module.decoder.config.to_dict(),
            "memory_width": module.memory_width,
            "weights": weights.getvalue(),
        }
    )


def _deserialize_decoder(module: Any, data: bytes, device: Any) -> DecoderModule | None:
    from transformers import CONFIG_MAPPING, AutoModelForCausalLM

    if not data:
        return None
    msg = srsly.msgpack_loads(data)
    config_dict = dict(msg["config"])
    config = CONFIG_MAPPING[config_dict["model_type"]].from_dict(config_dict)
    rebuilt = DecoderModule(AutoModelForCausalLM.from_config(config), msg["memory_width"])
    state = torch.load(BytesIO(msg["weights"]), map_location=device, weights_only=True)
    rebuilt.load_state_dict(state)
    return rebuilt.to(device)
