"""The learning-rate schedule of generated configs: warmup and decay follow the run's length."""

from collections.abc import Iterable, Iterator
from itertools import repeat
from typing import Any

from thinc.api import registry, warmup_linear

from ..errors import ConfigError, Errors


@registry.schedules("nlp_tasks.warmup_linear.v1")
def warmup_linear_fraction(
    initial_rate: float, total_steps: Any, warmup_fraction: float = 0.1
) -> Iterable[float]:
    """A linear warmup to ``initial_rate``, then a linear fall to 0 at ``total_steps``.

    Registered as ``nlp_tasks.warmup_linear.v1`` (through an entry point, so
    ``spacy train`` finds it). Generated configs set ``total_steps =
    ${training.max_steps}``, so overriding ``--training.max_steps`` alone moves
    the warmup and the end of the decay with it. thinc's ``warmup_linear.v1``
    takes fixed step counts instead.

    initial_rate (float): The peak rate, reached at the end of the warmup.
    total_steps (int): The step at which the rate reaches 0; the run's length.
        Typed ``Any`` for the config's sake: ``spacy assemble`` builds the
        [training] block before it interpolates, when the value is still the
        string ``${training.max_steps}``; a number is checked at the first step
        (E120). Built from a config that was not interpolated (``spacy
        assemble``, ``nlp.initialize()`` on a pipeline loaded without
        interpolation), the schedule holds ``initial_rate``: only ``spacy
        train`` knows the run's length.
    warmup_fraction (float): The part of ``total_steps`` to warm up over, from 0 to 1.
    RETURNS (Iterable[float]): The rate of each step.
    """
    return _warmup_linear(initial_rate, total_steps, warmup_fraction)


def _warmup_linear(
    initial_rate: float, total_steps: Any, warmup_fraction: float
) -> Iterator[float]:
    if isinstance(total_steps, str) and total_steps.startswith("${"):
        # spaCy also builds the optimizer of a config it has not interpolated yet
        # (`spacy assemble` fills and validates [training] as it is), only to check
        # it; the schedule it trains with comes from the interpolated config.
        yield from repeat(initial_rate)
        return
    # Checked here, at the first step, since the function runs before interpolation too.
    if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
        raise ConfigError(Errors.E120.format(value=total_steps))
    if not 0.0 <= warmup_fraction < 1.0:
        raise ConfigError(Errors.E121.format(value=warmup_fraction))
    warmup_steps = max(1, round(total_steps * warmup_fraction)) if warmup_fraction else 0
    yield from warmup_linear(initial_rate, warmup_steps, total_steps)
