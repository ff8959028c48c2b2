"""Each head's learning rate, as a multiple of the heads' rate.

One optimizer (``[training.optimizer]``) trains every component of a pipeline;
the backbone has its own scale (``learn_rate_scale`` of ``nlp_tasks.Backbone.v1``).
A head that trains best faster or slower than the others gets one too: its task
declares ``Task.learn_rate_scale``, generated configs write it into

    [nlp.after_pipeline_creation.learn_rate_scales]
    sentiment = 1.0
    ner = 1.0

and ``scale_learn_rates`` makes that component's optimizer steps use the rate
times its scale. thinc's optimizer takes a per-step ``lr_scale``; the component's
``finish_update`` is given an optimizer that passes the scale on, so the head's
thinc weights and PyTorch modules alike follow it. The gradients a head sends
into the shared backbone are applied by the backbone at its own rate.
"""

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .method_wrapper import MethodWrapper, wrap_method

if TYPE_CHECKING:
    from spacy.language import Language


def is_learn_rate_scale(value: Any) -> bool:
    """Whether a value can scale a learning rate: a finite number above 0.

    value (Any): The value.
    RETURNS (bool): True if it can.
    """
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def scale_learn_rates(nlp: "Language", scales: Mapping[str, float]) -> None:
    """Make each named component train at its scale of the optimizer's rate.

    Called by the ``nlp_tasks.pipeline_setup.v2`` callback with its
    ``learn_rate_scales``; calling it again replaces the scales.

    nlp (Language): The pipeline.
    scales (Mapping[str, float]): Component name to learning-rate scale. A name
        not in the pipeline is passed over with W008: a pipeline may be loaded
        without some of its components (``exclude``).
    RAISES ConfigError: E140 for a scale that is not a number above 0.
    """
    import warnings

    from ..errors import ConfigError, Errors, Warnings

    trainable = [name for name, pipe in nlp.pipeline if hasattr(pipe, "finish_update")]
    for name, scale in scales.items():
        if not is_learn_rate_scale(scale):
            raise ConfigError(Errors.E140.format(name=name, value=scale))
        if name not in trainable:
            warnings.warn(
                Warnings.W008.format(name=name, components=", ".join(trainable)), stacklevel=2
            )
            continue
        wrap_method(nlp.get_pipe(name), "finish_update", _ScaledFinishUpdate).scale = float(scale)


class ScaledOptimizer:
    """An optimizer whose every step uses ``scale`` times the rate of the one it wraps.

    Everything else (the schedules, the averages, the state per parameter) is
    the wrapped optimizer's own.

    optimizer (thinc.api.Optimizer): The optimizer.
    scale (float): The learning-rate scale.
    """

    def __init__(self, optimizer: Any, scale: float) -> None:
        self.optimizer = optimizer
        self.scale = scale

    def __call__(
        self, key: tuple[int, str], weights: Any, gradient: Any, *, lr_scale: float = 1.0
    ) -> tuple[Any, Any]:
        """One step of a parameter, as thinc's ``Optimizer.__call__``, at the scaled rate."""
        return self.optimizer(key, weights, gradient, lr_scale=lr_scale * self.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


class _ScaledFinishUpdate(MethodWrapper):
    """A component's ``finish_update``, given a ``ScaledOptimizer``."""

    #: The component's learning-rate scale; ``scale_learn_rates`` sets it.
    scale = 1.0

    def __call__(self, sgd: Any, *args: Any, **kwargs: Any) -> Any:
        if self.scale != 1.0 and sgd not in (None, False):
            sgd = ScaledOptimizer(sgd, self.scale)
        return self.call_original(sgd, *args, **kwargs)
