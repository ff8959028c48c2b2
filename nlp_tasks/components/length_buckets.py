"""Length buckets: run a padded batch through the backbone in groups of similar length.

spacy-transformers tokenizes every strided span of a batch of docs together,
pads them all to the longest span and runs the Hugging Face module once. Each
doc's last window is short, so on news articles cut into windows of 128 tokens
about a fifth of the positions the backbone computes are padding. Installed on
the module, the length buckets sort the rows of each padded batch by real
length (the attention mask's row sum), split them into groups chosen to
minimise the positions computed plus a fixed cost per forward call, run each
group trimmed to its own longest row, then pad the outputs back and restore the
row order. Callers (spacy-transformers, its backprop, the heads) see the same
output type and shapes as before; outputs at real positions match the plain
forward and gradients flow through, so training works as well as inference.
When the buckets run, padded positions of ``last_hidden_state`` (and of
``hidden_states``) are zeros instead of the values a plain forward computes
there, which nothing reads.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import torch

# A forward call costs something whatever its size: Python dispatch through
# every layer (about 5 ms for MiniLM on one CPU thread, some 20 positions'
# worth at 250 us a position) and kernel launches on a GPU, where a small call
# is launch-bound and the cost in positions is larger. Two full windows of 128
# wordpieces covers the CPU with room to spare, and still splits off a group
# only when that saves more padding than two windows' worth.
DEFAULT_GROUP_OVERHEAD = 256

_COUNT_KEYS = ("calls", "forwards", "rows", "real", "plain", "bucketed")


class _Unmergeable(Exception):
    """A group's output holds something that cannot be padded back."""


class LengthBucketedForward:
    """The ``forward`` that ``install_length_buckets`` sets on a module.

    A class rather than a closure or a bound method, so the module still
    pickles (``nlp.pipe`` with ``n_process`` > 1) and deep-copies: the instance
    holds the module and calls its class's ``forward`` on it.

    module (torch.nn.Module): The Hugging Face module.
    group_overhead (int): The fixed cost of one forward call, in positions.
    counts (dict[str, int]): Running counts, see ``padding_counts``.
    """

    def __init__(self, module: "torch.nn.Module", group_overhead: int) -> None:
        self.module = module
        self.group_overhead = group_overhead
        self.counts = dict.fromkeys(_COUNT_KEYS, 0)

    @property
    def __signature__(self) -> Any:
        # transformers and others inspect ``model.forward`` for its arguments.
        import functools
        import inspect

        return inspect.signature(functools.partial(type(self.module).forward, self.module))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the module's forward, in length groups when that saves positions.

        *args: Positional inputs; any make it a plain forward.
        **kwargs: The module's keyword inputs.
        RETURNS (Any): What the module's own forward returns.
        """
        import torch

        mask = kwargs.get("attention_mask")
        if args or not isinstance(mask, torch.Tensor) or mask.dim() != 2:
            return self._plain(args, kwargs, None)
        if self._plain_only(kwargs):
            return self._plain(args, kwargs, None)
        n_rows, width = mask.shape
        present = mask.ne(0)
        lengths = present.sum(dim=1)
        right_padded = torch.arange(width, device=mask.device) < lengths.unsqueeze(1)
        if n_rows < 2 or not bool(torch.equal(right_padded, present)):
            return self._plain(args, kwargs, lengths)
        lengths_list = lengths.tolist()
        groups = bucket_lengths(lengths_list, self.group_overhead)
        # A row with no real wordpiece still runs on one position.
        group_widths = [max(1, lengths_list[group[-1]]) for group in groups]
        if len(groups) == 1 and group_widths[0] == width:
            return self._plain(args, kwargs, lengths)
        per_row = {
            key: value
            for key, value in kwargs.items()
            if isinstance(value, torch.Tensor) and value.shape[:2] == mask.shape
        }
        forward = type(self.module).forward
        outputs = []
        for group, group_width in zip(groups, group_widths):
            rows = torch.tensor(group, device=mask.device)
            inputs = dict(kwargs)
            for key, value in per_row.items():
                inputs[key] = value.index_select(0, rows)[:, :group_width]
            outputs.append(forward(self.module, **inputs))
        order = torch.tensor([row for group in groups for row in group], device=mask.device)
        restore = torch.empty_like(order)
        restore[order] = torch.arange(n_rows, device=mask.device)
        self.counts["forwards"] += len(groups)
        try:
            layout = _Layout([len(g) for g in groups], group_widths, width, restore, ~present)
            merged = _merge(outputs, layout)
        except _Unmergeable:
            return self._plain(args, kwargs, lengths)
        self._count(lengths_list, width, sum(len(g) * w for g, w in zip(groups, group_widths)))
        return merged

    def _plain_only(self, kwargs: dict[str, Any]) -> bool:
        config = getattr(self.module, "config", None)
        attentions = kwargs.get("output_attentions")
        if attentions is None:
            attentions = getattr(config, "output_attentions", False)
        return_dict = kwargs.get("return_dict")
        if return_dict is None:
            return_dict = getattr(config, "use_return_dict", True)
        # Attention maps are (rows, heads, length, length): padding them back is
        # not worth it for outputs nobody here asks for; tuples have no field names.
        return bool(attentions) or not return_dict

    def _plain(self, args: tuple, kwargs: dict[str, Any], lengths: "torch.Tensor | None") -> Any:
        import torch

        output = type(self.module).forward(self.module, *args, **kwargs)
        self.counts["forwards"] += 1
        shape = _batch_shape(args, kwargs)
        if shape is None:
            return output
        n_rows, width = shape
        mask = kwargs.get("attention_mask")
        if lengths is None and isinstance(mask, torch.Tensor) and mask.shape == shape:
            lengths = mask.ne(0).sum(dim=1)
        real = lengths.tolist() if lengths is not None else [width] * n_rows
        self._count(real, width, n_rows * width)
        return output

    def _count(self, lengths: Sequence[int], width: int, computed: int) -> None:
        self.counts["calls"] += 1
        self.counts["rows"] += len(lengths)
        self.counts["real"] += int(sum(lengths))
        self.counts["plain"] += len(lengths) * width
        self.counts["bucketed"] += computed


def install_length_buckets(
    module: "torch.nn.Module", *, group_overhead: int = DEFAULT_GROUP_OVERHEAD
) -> bool:
    """Make a Hugging Face module run padded batches in groups of similar length.

    Sets ``module.forward`` to a ``LengthBucketedForward``: each call sorts the
    rows by real length (the attention mask's row sum), runs them in groups
    (``bucket_lengths``) trimmed to each group's longest row, pads the outputs
    back to the batch's length (zeros at every padded position) and restores
    the row order. Every tensor keyword input shaped (rows, length, ...) is
    cut the same way. It falls back to the plain forward for positional
    inputs, no (2-d) attention mask, a mask that is not right-padded,
    ``output_attentions``, tuple outputs, and when grouping would save
    nothing. Weights, ``state_dict`` and pickling are unchanged. Idempotent.

    module (torch.nn.Module): The Hugging Face module, e.g. the
        ``model.transformer`` of an initialized spacy-transformers component.
    group_overhead (int): The fixed cost of one forward call, in positions;
        higher makes fewer, larger groups.
    RETURNS (bool): Whether it was installed now (False if it already was).
    """
    if isinstance(module.__dict__.get("forward"), LengthBucketedForward):
        return False
    module.forward = LengthBucketedForward(module, group_overhead)
    return True


def remove_length_buckets(module: "torch.nn.Module") -> bool:
    """Give a module back its plain forward.

    module (torch.nn.Module): A module ``install_length_buckets`` was called on.
    RETURNS (bool): Whether there was anything to remove.
    """
    if not isinstance(module.__dict__.get("forward"), LengthBucketedForward):
        return False
    del module.__dict__["forward"]
    return True


def padding_counts(module: "torch.nn.Module") -> dict[str, int]:
    """How many positions a module with length buckets computed, since install or reset.

    Plain forwards it fell back to count too (computing as many positions as a
    plain forward would). ``padded_fraction = 1 - real / computed``.

    module (torch.nn.Module): A module with length buckets installed.
    RETURNS (dict[str, int]): ``calls`` (forward calls on the module),
        ``forwards`` (calls of the module's own forward, one per group),
        ``rows`` (sequences), ``real`` (real wordpieces), ``plain`` (positions
        plain padded forwards would compute) and ``bucketed`` (positions
        computed with the buckets).
    """
    return dict(_installed(module).counts)


def reset_padding_counts(module: "torch.nn.Module") -> None:
    """Set a module's length-bucket counts back to zero.

    module (torch.nn.Module): A module with length buckets installed.
    """
    counts = _installed(module).counts
    for key in counts:
        counts[key] = 0


def bucket_lengths(
    lengths: Sequence[int], group_overhead: int = DEFAULT_GROUP_OVERHEAD
) -> list[list[int]]:
    """Split rows into groups of similar length, computing as little as possible.

    Minimises the sum over groups of rows x the group's longest row, plus
    ``group_overhead`` per group, over the partitions of the rows sorted by
    length into consecutive runs (which hold an optimal partition), by dynamic
    programming over the distinct lengths: rows of one length stay together.

    lengths (Sequence[int]): Each row's real length.
    group_overhead (int): The fixed cost of one group, in positions.
    RETURNS (list[list[int]]): Row indices by group; shortest group first,
        each group's rows by ascending length (stable).
    """
    import numpy

    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    if not order:
        return []
    distinct, counts = numpy.unique(numpy.asarray(lengths, dtype=numpy.int64), return_counts=True)
    # The cost of a group is rows x its longest length: a group of the rows of
    # distinct lengths i..j-1 costs (rows_before[j] - rows_before[i]) x distinct[j - 1].
    rows_before = numpy.concatenate([[0], numpy.cumsum(counts)])
    best = numpy.zeros(len(distinct) + 1)
    start = numpy.zeros(len(distinct) + 1, dtype=numpy.int64)
    for j in range(1, len(distinct) + 1):
        cost = best[:j] + (rows_before[j] - rows_before[:j]) * max(1, distinct[j - 1])
        i = int(numpy.argmin(cost))
        best[j] = cost[i] + group_overhead
        start[j] = i
    ends = []
    j = len(distinct)
    while j > 0:
        ends.append(int(rows_before[j]))
        j = int(start[j])
    groups = []
    begin = 0
    for end in reversed(ends):
        groups.append(order[begin:end])
        begin = end
    return groups


def _installed(module: "torch.nn.Module") -> LengthBucketedForward:
    forward = module.__dict__.get("forward")
    if not isinstance(forward, LengthBucketedForward):
        raise ValueError(f"No length buckets installed on {type(module).__name__}.")
    return forward


def _batch_shape(args: tuple, kwargs: dict[str, Any]) -> tuple[int, int] | None:
    import torch

    for value in (*args, kwargs.get("attention_mask"), kwargs.get("input_ids")):
        if isinstance(value, torch.Tensor) and value.dim() == 2:
            return tuple(value.shape)  # type: ignore[return-value]
    return None


class _Layout(NamedTuple):
    """Where the groups' rows go back: sizes and widths of the groups, the batch's."""

    sizes: list[int]
    widths: list[int]
    width: int
    restore: "torch.Tensor"  # the input row order, as indices into the grouped rows
    padding: "torch.Tensor"  # (rows, width) bool, True at padded positions


def _merge(outputs: list[Any], layout: _Layout) -> Any:
    """Put the groups' outputs back together as one batch in the input's row order."""
    from transformers.utils import ModelOutput

    first = outputs[0]
    if not isinstance(first, ModelOutput):
        raise _Unmergeable
    merged = type(first)()
    for key in first.keys():
        merged[key] = _merge_value([output.get(key) for output in outputs], layout)
    return merged


def _merge_value(values: list[Any], layout: _Layout) -> Any:
    import torch

    if all(isinstance(value, tuple) for value in values):
        # hidden_states: one (rows, length, width) tensor per layer.
        return tuple(_merge_value(list(layer), layout) for layer in zip(*values))
    if not all(isinstance(value, torch.Tensor) for value in values):
        raise _Unmergeable
    if any(value.dim() < 1 or value.shape[0] != size for value, size in zip(values, layout.sizes)):
        raise _Unmergeable
    shapes = {tuple(value.shape[1:]) for value in values}
    follows = all(
        value.dim() >= 2 and value.shape[1] == group_width
        for value, group_width in zip(values, layout.widths)
    )
    if follows and len(shapes) == 1 and values[0].dim() == 2:
        # One group: (rows, length) cannot be told from (rows, features).
        raise _Unmergeable
    if not follows and len(shapes) != 1:
        raise _Unmergeable
    parts = []
    for value, size, group_width in zip(values, layout.sizes, layout.widths):
        if follows and group_width < layout.width:
            tail = value.new_zeros((size, layout.width - group_width, *value.shape[2:]))
            value = torch.cat([value, tail], dim=1)
        parts.append(value)
    merged = torch.cat(parts, dim=0).index_select(0, layout.restore)
    if follows:
        # Zeros at every padded position, not only past each group's width.
        padding = layout.padding.view(*layout.padding.shape, *([1] * (merged.dim() - 2)))
        merged = merged.masked_fill(padding, 0)
    return merged
