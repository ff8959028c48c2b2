"""What every task head on the shared backbone relies on, and the backbone's learning rule.

spacy-transformers runs the backbone's backward pass from the LAST listening
component in pipeline order only; the others just accumulate gradients. A head
that returns early from ``update`` (spaCy's ``ner`` does, on a batch with no
entity gold) never calls its listener's backprop, so when that head is last
the backbone silently stops learning from every other head's gradient. The
core closes that gap for every head, whatever its code: ``own_backbone_updates``
makes the shared transformer release, with a zero gradient, each listener that
still holds a batch before it steps and before it takes the next batch.
``SharedBackboneHead``, which did the same from inside a head, is no longer
needed.
"""

from typing import TYPE_CHECKING, Any

from spacy.training import Example
from thinc.api import Model

from ..errors import ConfigError, Errors
from .method_wrapper import MethodWrapper, wrap_method
from .thinc_adapter import pending_listener_outputs

if TYPE_CHECKING:
    from spacy.language import Language


def listener_config(section: str = "model.tok2vec", *, grad_factor: float = 1.0) -> str:
    """The config block of a head's listener to the shared transformer.

    Heads put it in their default model config, so every head reaches the
    backbone the same way: through spacy-transformers' listener, matching any
    upstream transformer component, with mean pooling over wordpieces.

    section (str): The config section the listener fills.
    grad_factor (float): Scales the gradient passed to the backbone; 0 freezes it.
    RETURNS (str): Config text for the section and its pooling subsection.
    """
    return f"""
[{section}]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = {grad_factor}
upstream = "*"

[{section}.pooling]
@layers = "reduce_mean.v1"
"""


class SharedBackboneHead:
    """Mixin for a ``TrainablePipe`` whose model listens to the shared transformer.

    No longer needed, and harmless: the core now releases every listener that
    skipped a batch (``own_backbone_updates``), for every head. A head that has
    it (``class MyHead(SharedBackboneHead, TextCategorizer)``) releases its own
    listeners right after its update instead, with the same result.
    """

    def update(
        self,
        examples: list[Example],
        *,
        drop: float = 0.0,
        sgd: Any = None,
        losses: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """Learn from a batch, and always pass a gradient back to the backbone.

        examples (Iterable[Example]): The batch; examples without gold for this
            head are masked out of its loss, not treated as negative.
        drop (float): The dropout rate.
        sgd (thinc.api.Optimizer | None): The optimizer.
        losses (dict[str, float] | None): Losses by component name, updated.
        RETURNS (dict[str, float]): The updated losses.
        """
        losses = super().update(examples, drop=drop, sgd=sgd, losses=losses)  # type: ignore[misc]
        release_listeners(self.model)  # type: ignore[attr-defined]
        return losses


def shared_transformer(nlp: "Language", *, component: str = "?", model: Model | None = None) -> Any:
    """The pipeline's shared transformer component.

    For a head that needs the backbone itself, not only the document's
    activations through its listener: its weights for a pass on inputs of its
    own (a question and a context, say), its tokenizer or its checkpoint. Its
    ``model.transformer`` is the Hugging Face module and ``model.tokenizer``
    the tokenizer, once the pipeline is initialized or loaded. With ``model``,
    the transformer feeding that model's listener is returned; otherwise, or
    if none does, the first component made by the ``transformer`` factory.
    Disabled components count: the weights are there all the same.

    nlp (Language): The pipeline.
    component (str): The name of the component asking, for the error message.
    model (Model | None): The asking head's model, if it has a listener.
    RETURNS (spacy_transformers.Transformer): The transformer component.
    """
    listeners = [node for node in model.walk() if hasattr(node, "upstream_name")] if model else []
    for name in nlp.component_names:
        own = getattr(nlp.get_pipe(name), "listeners", None)
        if own and any(listener in own for listener in listeners):
            return nlp.get_pipe(name)
    for name in nlp.component_names:
        if nlp.get_pipe_meta(name).factory == "transformer":
            return nlp.get_pipe(name)
    raise ConfigError(Errors.E016.format(component=component, components=list(nlp.component_names)))


def release_listeners(model: Model) -> int:
    """Backprop a zero gradient through every listener in ``model`` still holding a batch.

    model (Model): A head's model.
    RETURNS (int): How many listeners were released.
    """
    released = 0
    for node in model.walk():
        outputs = pending_listener_outputs(node)
        if outputs is None:
            continue
        node.backprop_and_clear(_zero_gradients(outputs, node.ops))
        released += 1
    return released


def _zero_gradients(outputs: list[Any], ops: Any) -> list[Any]:
    # Shaped as spacy-transformers' own listener gradients: last_hidden_state
    # only, and nothing for empty docs, which have no transformer output.
    from spacy_transformers.data_classes import TransformerData
    from transformers.utils import ModelOutput

    gradients = []
    for output in outputs:
        if "last_hidden_state" not in output.model_output:
            continue
        hidden = output.model_output["last_hidden_state"]
        gradients.append(
            TransformerData(
                wordpieces=output.wordpieces,
                model_output=ModelOutput(
                    last_hidden_state=ops.alloc(hidden.shape, dtype=hidden.dtype)
                ),
                align=output.align,
            )
        )
    return gradients


def own_backbone_updates(nlp: "Language") -> "Language":
    """Make every shared transformer of ``nlp`` backprop each batch, whatever its heads do.

    Each component that listens to a spacy-transformers ``Transformer`` of the
    pipeline releases its listeners after its ``update`` (``release_listeners``),
    so the backbone's backward pass runs even when the last listening head
    skipped the batch. Components linked later (``nlp.add_pipe``, sourcing)
    get the same through the transformer's ``find_listeners``. And the
    transformer releases any listener still holding a batch before it encodes
    the next one, whatever code ran in between. Called by the
    ``nlp_tasks.pipeline_setup.v2`` callback, which every generated
    config names in ``[nlp.after_pipeline_creation]`` (and by its older
    versions); calling it again is harmless.

    nlp (Language): The pipeline.
    RETURNS (Language): The same pipeline.
    """
    from spacy_transformers import Transformer

    for _, transformer in nlp.pipeline:
        if not isinstance(transformer, Transformer):
            continue
        wrap_method(transformer, "update", _ReleasingBefore)
        wrap_method(transformer, "find_listeners", _WrappingListeners)
        for _, component in nlp.pipeline:
            _wrap_if_listening(transformer, component)
    return nlp


def release_pending(transformer: Any) -> int:
    """Release, with a zero gradient, every listener of ``transformer`` still holding a batch.

    The listeners are released in their order, so the last one, whose backprop
    runs the backbone's backward pass, comes after the others have added theirs.

    transformer (spacy_transformers.Transformer): A transformer component.
    RETURNS (int): How many listeners were released.
    """
    return sum(release_listeners(listener) for listener in transformer.listeners)


def _wrap_if_listening(transformer: Any, component: Any) -> None:
    model = getattr(component, "model", None)
    if component is transformer or not isinstance(model, Model):
        return
    if any(node in transformer.listeners for node in model.walk()):
        wrap_method(component, "update", _ReleasingAfter)


class _ReleasingAfter(MethodWrapper):
    """A listening head's ``update``, which then releases the head's listeners."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        losses = self.call_original(*args, **kwargs)
        release_listeners(self.owner.model)
        return losses


class _ReleasingBefore(MethodWrapper):
    """The transformer's ``update``, which first releases listeners left holding a batch."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        release_pending(self.owner)
        return self.call_original(*args, **kwargs)


class _WrappingListeners(MethodWrapper):
    """The transformer's ``find_listeners``, which also wraps the component it links."""

    def __call__(self, component: Any) -> Any:
        result = self.call_original(component)
        _wrap_if_listening(self.owner, component)
        return result
