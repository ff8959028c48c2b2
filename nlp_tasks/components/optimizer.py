"""In-place optimizer steps for the PyTorch modules of a pipeline.

thinc's ``PyTorchShim.finish_update`` (8.3) applies each step by giving every
parameter a new tensor, ``param.data = xp2torch(weights)``, where ``weights``
is a NumPy (or CuPy) view of the old tensor. The new tensor keeps that view
alive, the view keeps the old tensor alive, and so on: every step adds one
link per parameter to a chain that is never freed. On CPU a training run's
resident memory grew by about 0.5 MB a step with a tiny BERT and by gigabytes
an hour with the default backbone. Here the optimizer's result is written into
the parameter's existing storage instead (the optimizer usually updates that
storage in place already, so nothing is copied), and no chain forms. The step
replaces thinc's through ``thinc_adapter``, which holds every use of thinc's
internals.

The same step takes a learning-rate scale, which is how a pretrained backbone
can train slower than the heads that share its optimizer, and a layer decay,
which makes its lower layers train slower still.

And a forked child process runs PyTorch on one thread (see
``single_threaded_torch_after_fork``), so ``nlp.pipe(n_process=...)`` cannot
hang.
"""

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from thinc.api import Model, Optimizer, PyTorchShim, torch2xp, xp2torch

from .thinc_adapter import grad_scaler, replace_finish_update, shim_module

if TYPE_CHECKING:
    from spacy.language import Language

# A numbered layer in a parameter name: "encoder.layer.3.", "layers.3.".
_LAYER_INDEX = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def use_in_place_updates(model: Model, *, lr_scale: float = 1.0, layer_decay: float = 1.0) -> Model:
    """Make every PyTorch shim in ``model`` apply optimizer steps in place.

    model (Model): A thinc model, e.g. spacy-transformers' TransformerModel.
    lr_scale (float): Multiplies the optimizer's learning rate for these
        modules' parameters, e.g. 0.1 to fine-tune a backbone ten times slower
        than the heads on it.
    layer_decay (float): Multiplies the scale once more for each layer below
        the top one (see ``layer_lr_scales``); 1.0 gives every layer the same.
    RETURNS (Model): The same model.
    """
    single_threaded_torch_after_fork()
    for shim in _torch_shims(model):
        _patch_in_place(shim, lr_scale=lr_scale, layer_decay=layer_decay)
    return model


_fork_hook_registered = False


def single_threaded_torch_after_fork() -> None:
    """Make every process forked from this one run PyTorch on a single thread.

    PyTorch's CPU kernels run on an OpenMP thread pool. GNU OpenMP does not
    survive ``fork``: the child inherits the pool's bookkeeping but not its
    threads, and its first parallel kernel waits for them forever. spaCy's
    ``nlp.pipe(n_process=...)`` forks (Linux's default start method), so every
    worker hung in the backbone's first layer, idle. With one thread, PyTorch
    runs each kernel inline and never enters the pool. The parent keeps its
    threads; each worker has one, which suits one worker per core. Registered
    once per process, when the first model of the pipeline is built; it costs
    nothing if PyTorch was never imported.
    """
    global _fork_hook_registered
    if _fork_hook_registered or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(after_in_child=_one_torch_thread)
    _fork_hook_registered = True


def _one_torch_thread() -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def layer_lr_scales(names: list[str], *, top: float, decay: float) -> dict[str, float]:
    """Learning-rate scales for a layered model's parameters, by depth.

    Layers are found by their parameter names (``...layer.3...`` or
    ``...layers.3...``, as in BERT, RoBERTa and DistilBERT). A parameter of the
    top layer, or of no layer (a pooler), gets ``top``; each layer below gets
    ``decay`` times the scale of the one above it; the embeddings, below the
    first layer, get ``decay`` times the first layer's. Without numbered layers
    every parameter gets ``top``.

    names (list[str]): Parameter names, from ``named_parameters()``.
    top (float): The scale of the top layer.
    decay (float): Factor between neighbouring layers, e.g. 0.8.
    RETURNS (dict[str, float]): Scale by parameter name.
    """
    layer_of = {name: int(m.group(1)) for name in names if (m := _LAYER_INDEX.search(name))}
    if not layer_of:
        return {name: top for name in names}
    num_layers = max(layer_of.values()) + 1
    scales = {}
    for name in names:
        if name in layer_of:
            below_top = num_layers - 1 - layer_of[name]
        elif "embed" in name:
            below_top = num_layers
        else:
            below_top = 0
        scales[name] = top * decay**below_top
    return scales


def make_in_place_updates_callback() -> "Callable[[Language], Language]":
    """The ``[nlp.after_pipeline_creation]`` callback of configs generated before precision.

    Registered as ``nlp_tasks.in_place_torch_updates.v1``, which configs
    generated before precision name: it is ``nlp_tasks.pipeline_setup.v1`` at fp32
    (``pipeline_setup.py``), so pipelines trained or loaded from them follow
    the same rules.

    RETURNS (Callable[[Language], Language]): The callback.
    """
    from .pipeline_setup import make_pipeline_setup_callback

    return make_pipeline_setup_callback("fp32", "fp32")


def in_place_torch_steps(nlp: "Language") -> "Language":
    """Give every PyTorch module of a pipeline's components the in-place optimizer step.

    Covers third-party heads that wrap a PyTorch module (``PyTorchWrapper``) too.
    Shims already patched keep their step, and with it the learning-rate scale
    the backbone was built with.

    nlp (Language): The pipeline.
    RETURNS (Language): The same pipeline.
    """
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if isinstance(model, Model):
            for shim in _torch_shims(model):
                if not _is_patched(shim):
                    _patch_in_place(shim, lr_scale=1.0, layer_decay=1.0)
    return nlp


def _torch_shims(model: Model) -> list[PyTorchShim]:
    return [shim for node in model.walk() for shim in node.shims if isinstance(shim, PyTorchShim)]


def _patch_in_place(shim: PyTorchShim, *, lr_scale: float, layer_decay: float) -> None:
    replace_finish_update(
        shim,
        functools.partial(
            _finish_update_in_place, shim, lr_scale=lr_scale, layer_decay=layer_decay
        ),
    )


def _is_patched(shim: PyTorchShim) -> bool:
    return getattr(shim.finish_update, "func", None) is _finish_update_in_place


def _finish_update_in_place(
    shim: PyTorchShim, optimizer: Optimizer, *, lr_scale: float = 1.0, layer_decay: float = 1.0
) -> None:
    # thinc's own step, but for where the result goes: no update after a gradient
    # overflow, every gradient zeroed, the scaler updated once. A change to thinc's
    # step fails tests/test_upstream_adapters.py, to be carried over here.
    module = shim_module(shim)
    if module is None:
        return
    scaler = grad_scaler(shim)
    parameters = list(module.named_parameters())
    scales = layer_lr_scales([name for name, _ in parameters], top=lr_scale, decay=layer_decay)
    for name, parameter in parameters:
        if parameter.grad is None:
            continue
        if not scaler.found_inf:
            weights, _ = optimizer(
                (shim.id, name),
                torch2xp(parameter.data),
                torch2xp(parameter.grad),
                lr_scale=scales[name],
            )
            updated = xp2torch(weights, device=parameter.device)
            if updated.data_ptr() != parameter.data.data_ptr():
                parameter.data.copy_(updated)
        parameter.grad.zero_()
    scaler.update()
