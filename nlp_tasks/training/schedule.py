"""The learning-rate schedule of generated configs: warmup and decay follow the run's length."""

from collections.abc import Iterable

from thinc.api import registry, warmup_linear

from ..errors import ConfigError, Errors


@registry.schedules("nlp_tasks.warmup_linear.v1")
def warmup_linear_fraction(
    initial_rate: float, total_steps: int, warmup_fraction: float = 0.1
) -> Iterable[float]:
    """A linear warmup to ``initial_rate``, then a linear fall to 0 at ``total_steps``.

    Registered as ``nlp_tasks.warmup_linear.v1`` (through an entry point, so
    ``spacy train`` finds it). Generated configs set ``total_steps =
    ${training.max_steps}``, so overriding ``--training.max_steps`` alone moves
    the warmup and the end of the decay with it. thinc's ``warmup_linear.v1``
    takes fixed step counts instead.

    initial_rate (float): The peak rate, reached at the end of the warmup.
    total_steps (int): The step at which the rate reaches 0; the run's length.
    warmup_fraction (float): The part of ``total_steps`` to warm up over, from 0 to 1.
    RETURNS (Iterable[float]): The rate of each step.
    """
    if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
        raise ConfigError(Errors.E120.format(value=total_steps))
    if not 0.0 <= warmup_fraction < 1.0:
        raise ConfigError(Errors.E121.format(value=warmup_fraction))
    warmup_steps = max(1, round(total_steps * warmup_fraction)) if warmup_fraction else 0
    return warmup_linear(initial_rate, warmup_steps, total_steps)
