"""The rules every nlp-tasks pipeline follows once created, set by one config callback.

Every generated config names it::

    [nlp.after_pipeline_creation]
    @callbacks = "nlp_tasks.pipeline_setup.v2"
    precision = "fp32"
    training_precision = "fp32"

    [nlp.after_pipeline_creation.learn_rate_scales]
    sentiment = 1.0

so pipelines trained or loaded from such configs, with ``spacy train``,
``spacy.load`` or an installed ``spacy package``, follow the same rules:

- every PyTorch module takes in-place optimizer steps (``optimizer.py``), and
  forked workers run PyTorch on one thread;
- the shared transformer backprops each batch whatever its heads do (``head.py``);
- each task head runs only on the docs its task accepts (``routing.py``);
- once the weights exist (after ``nlp.initialize`` and after loading), the
  backbone runs its padded batches in length buckets (``length_buckets.py``);
- after loading, every PyTorch module computes at ``precision``
  (``nlp_tasks.precision``; weights are trained and saved in fp32), and saving
  a pipeline whose modules were quantized to int8 is refused (E136);
- forward passes that keep gradients run at ``training_precision`` (bf16:
  autocast, fp32 weights and optimizer state);
- each head named in ``learn_rate_scales`` trains at that multiple of the
  optimizer's rate (``head_rates.py``).

Older configs name ``nlp_tasks.pipeline_setup.v1`` (no learning-rate scales)
or ``nlp_tasks.in_place_torch_updates.v1`` (that, at fp32), which stay registered.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..precision import check_precision, check_training_precision
from .method_wrapper import MethodWrapper, wrap_method

if TYPE_CHECKING:
    from spacy.language import Language

#: The registered name of the callback, as configs write it.
SETUP_CALLBACK = "nlp_tasks.pipeline_setup.v2"
#: Every name of the callback a config may hold, the current one first.
SETUP_CALLBACKS = (
    SETUP_CALLBACK,
    "nlp_tasks.pipeline_setup.v1",
    "nlp_tasks.in_place_torch_updates.v1",
)


def make_pipeline_setup_callback_v2(
    precision: str = "fp32",
    training_precision: str = "fp32",
    learn_rate_scales: dict[str, float] | None = None,
) -> "Callable[[Language], Language]":
    """The ``[nlp.after_pipeline_creation]`` callback: the pipeline's rules, precision
    and head learning rates.

    Registered as ``nlp_tasks.pipeline_setup.v2``.

    precision (str): fp32, bf16, int8 or auto (``nlp_tasks.precision``): what the
        PyTorch modules compute in once the pipeline is loaded.
    training_precision (str): fp32, bf16 or auto: what their forward passes
        compute in while training (``set_training_precision``).
    learn_rate_scales (dict[str, float] | None): Component name to its learning
        rate as a multiple of the optimizer's (``head_rates.py``); a component
        not named trains at the optimizer's rate, and a name not in the
        pipeline is passed over with a warning (W008).
    RETURNS (Callable[[Language], Language]): The callback.
    """
    check_precision(precision)
    check_training_precision(training_precision)
    return _PipelineSetup(precision, training_precision, dict(learn_rate_scales or {}))


def make_pipeline_setup_callback(
    precision: str = "fp32", training_precision: str = "fp32"
) -> "Callable[[Language], Language]":
    """``nlp_tasks.pipeline_setup.v1``: v2 without learning-rate scales, for older configs.

    precision (str): What the PyTorch modules compute in once loaded.
    training_precision (str): What their forward passes compute in while training.
    RETURNS (Callable[[Language], Language]): The callback.
    """
    return make_pipeline_setup_callback_v2(precision, training_precision)


def setup_pipeline(
    nlp: "Language",
    precision: str = "fp32",
    training_precision: str = "fp32",
    learn_rate_scales: dict[str, float] | None = None,
) -> "Language":
    """Apply every rule of the module docstring to a pipeline; applying it again is harmless.

    nlp (Language): The pipeline, just created.
    precision (str): What its PyTorch modules compute in once loaded.
    training_precision (str): What they compute in while training.
    learn_rate_scales (dict[str, float] | None): Component name to learning-rate scale.
    RETURNS (Language): The same pipeline.
    """
    from ..precision import set_training_precision
    from .head import own_backbone_updates
    from .head_rates import scale_learn_rates
    from .optimizer import in_place_torch_steps, single_threaded_torch_after_fork
    from .routing import route_docs

    own_backbone_updates(nlp)
    route_docs(nlp)
    single_threaded_torch_after_fork()
    in_place_torch_steps(nlp)
    set_training_precision(nlp, training_precision)
    scale_learn_rates(nlp, learn_rate_scales or {})
    for method in ("initialize", "from_disk", "from_bytes"):
        wrap_method(nlp, method, _PreparingModules).precision = precision
    for method in ("to_disk", "to_bytes"):
        wrap_method(nlp, method, _RefusingInt8)
    return nlp


def prepare_modules(nlp: "Language", precision: str | None) -> None:
    """Set up a pipeline's PyTorch modules once their weights exist.

    nlp (Language): The pipeline, initialized or loaded.
    precision (str | None): The precision to set once loaded; None after
        ``initialize``, which is for training: every module then trains on fp32
        weights, those of a component sourced from a pipeline loaded at bf16
        too (its weights were rounded to bf16 there), and one loaded at int8
        cannot train (E137). The config's setting is left as it is.
    """
    from ..precision import convert_module, module_precision, set_precision, torch_modules
    from .length_buckets import install_length_buckets

    for module in torch_modules(nlp):
        if _is_encoder(module):
            install_length_buckets(module)
        if precision is None and module_precision(module) != "fp32":
            convert_module(module, "fp32")
    if precision is not None:
        set_precision(nlp, precision)


def _is_encoder(module: Any) -> bool:
    # A Hugging Face encoder takes padded rows with an attention mask: the
    # backbone, not the heads' own modules.
    from transformers import PreTrainedModel

    return isinstance(module, PreTrainedModel) and not module.config.is_encoder_decoder


class _PipelineSetup:
    # A class rather than a closure so that the callback pickles.
    def __init__(
        self, precision: str, training_precision: str, learn_rate_scales: dict[str, float]
    ) -> None:
        self.precision = precision
        self.training_precision = training_precision
        self.learn_rate_scales = learn_rate_scales

    def __call__(self, nlp: "Language") -> "Language":
        return setup_pipeline(nlp, self.precision, self.training_precision, self.learn_rate_scales)


class _PreparingModules(MethodWrapper):
    """``nlp.initialize``, ``from_disk`` or ``from_bytes``, then ``prepare_modules``."""

    #: The precision set after loading; ``setup_pipeline`` sets it.
    precision = "fp32"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.call_original(*args, **kwargs)
        loading = self.method != "initialize"
        prepare_modules(self.owner, self.precision if loading else None)
        return result


class _RefusingInt8(MethodWrapper):
    """``nlp.to_disk`` or ``to_bytes``, refused for a pipeline quantized to int8 (E136)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ..precision import refuse_saving_int8

        refuse_saving_int8(self.owner)
        return self.call_original(*args, **kwargs)
