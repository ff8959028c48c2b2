"""The numeric precision a pipeline's PyTorch modules compute in: fp32, bf16 or int8.

Precision is chosen when a pipeline is used, not when it is trained: weights are
trained and saved in fp32, and the pipeline's config says at which precision it
runs once loaded (``precision`` in its ``[nlp.after_pipeline_creation]`` block,
which ``nlp_tasks.load(..., precision=...)`` and the command line's
``--precision`` override). It covers every PyTorch module of the pipeline: the
shared backbone and the heads that wrap one (the generative decoder, its
decoding included). Heads made of thinc layers compute in numpy, which has no
bfloat16, so they stay fp32 at any setting; they are a small share of the work.

- ``bf16``: weights are cast to bfloat16. Hooks cast a module's floating inputs
  to its dtype and its floating outputs back to float32, so the code around it
  (thinc, numpy, the heads) sees what it saw before.
- ``int8``: every ``torch.nn.Linear`` becomes a dynamically quantized one (int8
  weights, activations quantized per batch), on CPU only. Outputs drift more
  than bf16's, so a task offers it only where its metrics were measured to hold
  (``Task.precisions``).
- ``auto``: bf16 where the device computes bf16 natively, fp32 elsewhere: bf16
  emulated in software is slower than fp32.
"""

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import Errors, PrecisionError

if TYPE_CHECKING:
    import torch
    from spacy.language import Language
    from thinc.api import ArgsKwargs, PyTorchShim

#: The precisions a module can compute in.
PRECISIONS = ("fp32", "bf16", "int8")
#: What a user may ask for: a precision, or ``auto``.
CHOICES = (*PRECISIONS, "auto")
#: What a pipeline's PyTorch modules may train at (``set_training_precision``).
TRAINING_PRECISIONS = ("fp32", "bf16", "auto")
#: The precision a task supports unless it says otherwise (``Task.precisions``).
DEFAULT_TASK_PRECISIONS = ("fp32", "bf16")

# Set on each module this module changed: the precision it computes in now.
_MARK = "_nlp_tasks_precision"
_HOOKS = "_nlp_tasks_precision_hooks"


#: The command line's help for ``--precision``.
OPTION_HELP = (
    "What the pipeline's PyTorch modules compute in: fp32, bf16, int8 or auto (bf16 where "
    "the CPU or GPU computes it natively). Default: as the pipeline's config says (fp32)."
)


def _option_check(choices: tuple[str, ...]) -> "Callable[[str | None], str | None]":
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            import typer

            raise typer.BadParameter(f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    return check


def check_precision(value: str) -> str:
    """A precision setting, checked: one of ``CHOICES``.

    value (str): The setting, e.g. "bf16".
    RETURNS (str): The same value.
    """
    if value not in CHOICES:
        raise PrecisionError(Errors.E134.format(value=value, choices=", ".join(CHOICES)))
    return value


def check_training_precision(value: str) -> str:
    """A training precision setting, checked: one of ``TRAINING_PRECISIONS``.

    value (str): The setting, e.g. "bf16".
    RETURNS (str): The same value.
    """
    if value not in TRAINING_PRECISIONS:
        choices = ", ".join(TRAINING_PRECISIONS)
        raise PrecisionError(
            Errors.E134.format(value=value, choices=choices) + " int8 is for inference only."
        )
    return value


#: The command line's checks of ``--precision`` and ``--training-precision``: a
#: usage error (exit 2) for a value that is not a choice.
option_callback = _option_check(CHOICES)
training_option_callback = _option_check(TRAINING_PRECISIONS)


def has_native_bf16(device: str = "cpu") -> bool:
    """Whether a device computes bfloat16 in hardware.

    On CPU: AVX512-BF16 or AMX (x86), which PyTorch's oneDNN kernels use. On
    CUDA: what ``torch.cuda.is_bf16_supported`` says (Ampere and later).

    device (str): "cpu", or a CUDA device such as "cuda:0".
    RETURNS (bool): True if bf16 runs natively there.
    """
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, check, lambda: False)() for check in checks)


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """The precision a setting stands for on a device: ``auto`` made concrete.

    precision (str): One of ``CHOICES``.
    device (str): Where the modules run: "cpu" or "cuda:N".
    RETURNS (str): One of ``PRECISIONS``.
    """
    check_precision(precision)
    if precision == "auto":
        return "bf16" if has_native_bf16(device) else "fp32"
    if precision == "int8" and device != "cpu":
        raise PrecisionError(Errors.E138.format(device=device))
    return precision


def set_precision(nlp: "Language", precision: str) -> str:
    """Make every PyTorch module of a pipeline compute at a precision.

    Meant for inference: train in fp32 (``bf16`` weights take no optimizer
    step). The setting is written into the pipeline's config when its
    ``[nlp.after_pipeline_creation]`` block is the core's, so a pipeline saved
    afterwards loads at the same precision (int8 pipelines are saved from fp32:
    see E136).

    nlp (Language): The pipeline, loaded or initialized.
    precision (str): One of ``CHOICES``.
    RETURNS (str): The precision the modules compute in now (``auto`` resolved).
    """
    modules = torch_modules(nlp)
    device = _device_of(modules)
    resolved = resolve_precision(precision, device)
    _check_tasks(nlp, resolved)
    for module in modules:
        convert_module(module, resolved)
    record_precision(nlp, precision)
    return resolved


def set_training_precision(nlp: "Language", precision: str) -> str:
    """Make a pipeline's PyTorch modules train at a precision.

    ``bf16``: each forward pass that keeps gradients (``begin_update``) runs
    under ``torch.autocast`` with bfloat16, and its outputs come back as
    float32; weights, gradients and the optimizer's state stay fp32, and the
    backward pass runs outside autocast, as PyTorch prescribes. Predictions
    (the dev evaluations of ``spacy train`` included) stay fp32. ``auto``:
    bf16 on a CPU or GPU with native bf16, fp32 elsewhere. int8 does not train.
    Applying it again replaces the earlier setting.

    nlp (Language): The pipeline.
    precision (str): "fp32", "bf16" or "auto".
    RETURNS (str): The precision its modules train at ("auto" resolved).
    """
    resolved = resolve_precision(check_training_precision(precision), _training_device())
    for shim in torch_shims(nlp):
        wrapped = isinstance(shim.__dict__.get("begin_update"), _AutocastBeginUpdate)
        if resolved == "bf16" and not wrapped:
            shim.begin_update = _AutocastBeginUpdate(shim)
        elif resolved == "fp32" and wrapped:
            del shim.__dict__["begin_update"]
    return resolved


def pipeline_precision(nlp: "Language") -> str:
    """The precision a pipeline's PyTorch modules compute in now.

    nlp (Language): The pipeline.
    RETURNS (str): One of ``PRECISIONS``; "fp32" for a pipeline without PyTorch modules.
    """
    found = {module_precision(module) for module in torch_modules(nlp)}
    for precision in ("int8", "bf16"):
        if precision in found:
            return precision
    return "fp32"


def module_precision(module: "torch.nn.Module") -> str:
    """The precision one module computes in: what this module set, or fp32.

    module (torch.nn.Module): The module.
    RETURNS (str): One of ``PRECISIONS``.
    """
    return getattr(module, _MARK, "fp32")


def floating_dtype(module: "torch.nn.Module") -> "torch.dtype":
    """The dtype of a module's floating weights, for inputs fed to it other than by ``forward``.

    A head that calls a method of its module other than ``forward`` (``generate``,
    say) casts its floating inputs to this dtype itself.

    module (torch.nn.Module): The module.
    RETURNS (torch.dtype): Its first floating parameter's dtype; float32 if it has none.
    """
    import torch

    for parameter in module.parameters():
        if parameter.is_floating_point():
            return parameter.dtype
    return torch.float32


def torch_modules(nlp: "Language") -> "list[torch.nn.Module]":
    """Every PyTorch module that a pipeline's components wrap, each once.

    nlp (Language): The pipeline; disabled components count.
    RETURNS (list[torch.nn.Module]): The modules, in pipeline order.
    """
    from .components.thinc_adapter import shim_module

    modules: dict[int, Any] = {}
    for shim in torch_shims(nlp):
        module = shim_module(shim)
        if module is not None:
            modules.setdefault(id(module), module)
    return list(modules.values())


def torch_shims(nlp: "Language") -> "list[PyTorchShim]":
    """Every thinc ``PyTorchShim`` of a pipeline's components, each once, loaded or not.

    nlp (Language): The pipeline; disabled components count.
    RETURNS (list[PyTorchShim]): The shims, in pipeline order.
    """
    from thinc.api import Model, PyTorchShim

    shims: dict[int, Any] = {}
    for name in nlp.component_names:
        model = getattr(nlp.get_pipe(name), "model", None)
        if not isinstance(model, Model):
            continue
        for node in model.walk():
            for shim in node.shims:
                if isinstance(shim, PyTorchShim):
                    shims.setdefault(id(shim), shim)
    return list(shims.values())


def record_precision(nlp: "Language", precision: str) -> None:
    """Write a precision setting into the pipeline's config, where the core's callback reads it.

    Does nothing for a pipeline whose ``[nlp.after_pipeline_creation]`` block is
    not the core's ``nlp_tasks.pipeline_setup`` (v1 or v2).

    nlp (Language): The pipeline.
    precision (str): One of ``CHOICES``.
    """
    from .components.pipeline_setup import SETUP_CALLBACKS

    block = nlp.config.get("nlp", {}).get("after_pipeline_creation")
    if isinstance(block, dict) and block.get("@callbacks") in SETUP_CALLBACKS[:2]:
        block["precision"] = precision


def refuse_saving_int8(nlp: "Language") -> None:
    """Raise E136 if a pipeline's modules are int8: their weights would not load back.

    nlp (Language): The pipeline about to be saved.
    """
    if any(module_precision(module) == "int8" for module in torch_modules(nlp)):
        raise PrecisionError(Errors.E136)


def _check_tasks(nlp: "Language", precision: str) -> None:
    from .registry import manager as plugins

    if precision == "fp32":
        return
    for name in nlp.component_names:
        task = plugins.task_for_factory(nlp.get_pipe_meta(name).factory)
        if task is not None and precision not in task.precisions:
            raise PrecisionError(
                Errors.E135.format(
                    component=name,
                    precision=precision,
                    task=task.name,
                    supported=", ".join(task.precisions),
                )
            )


def _training_device() -> str:
    # Where training runs: the device of thinc's current ops (spaCy's --gpu-id picks
    # it before the pipeline is made). The pipeline's modules cannot say: the
    # backbone's is only built when the pipeline is initialized.
    from thinc.util import get_torch_default_device

    device = get_torch_default_device()
    return "cpu" if device.type == "cpu" else f"{device.type}:{device.index or 0}"


def _device_of(modules: "list[torch.nn.Module]") -> str:
    for module in modules:
        for parameter in module.parameters():
            device = parameter.device
            return "cpu" if device.type == "cpu" else f"{device.type}:{device.index or 0}"
    return "cpu"


def convert_module(module: "torch.nn.Module", precision: str) -> None:
    """Make one PyTorch module compute at a precision, as ``set_precision`` does for each.

    For a module used outside a pipeline (a benchmark's baseline, say); the
    tasks' declarations are not checked.

    module (torch.nn.Module): The module, changed in place.
    precision (str): One of ``PRECISIONS``.
    """
    import torch

    current = module_precision(module)
    if current == precision:
        return
    if current == "int8":
        raise PrecisionError(Errors.E137.format(precision=precision))
    if current == "bf16":
        for handle in getattr(module, _HOOKS, ()):
            handle.remove()
        setattr(module, _HOOKS, ())
        module.to(torch.float32)
    if precision == "bf16":
        module.to(torch.bfloat16)
        setattr(
            module,
            _HOOKS,
            (
                module.register_forward_pre_hook(_inputs_to_weight_dtype, with_kwargs=True),
                module.register_forward_hook(_outputs_to_float32, with_kwargs=True),
            ),
        )
    elif precision == "int8":
        with warnings.catch_warnings():
            # PyTorch points eager-mode quantization users to torchao; the API stays.
            warnings.simplefilter("ignore")
            torch.ao.quantization.quantize_dynamic(
                module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
    setattr(module, _MARK, precision)


def _inputs_to_weight_dtype(
    module: "torch.nn.Module", args: tuple, kwargs: dict
) -> tuple[tuple, dict]:
    dtype = floating_dtype(module)
    return _cast(args, dtype), _cast(kwargs, dtype)


def _outputs_to_float32(module: "torch.nn.Module", args: tuple, kwargs: dict, output: Any) -> Any:
    import torch

    return _cast(output, torch.float32)


def _cast(value: Any, dtype: "torch.dtype") -> Any:
    import torch
    from transformers.utils import ModelOutput

    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() and value.dtype != dtype else value
    if isinstance(value, ModelOutput):
        # The module's own output, a dict whose items are also attributes: set them
        # in place to keep its type.
        for key in list(value):
            value[key] = _cast(value[key], dtype)
        return value
    if isinstance(value, dict):
        # A caller's dict of inputs: a new one, the caller's stays as it was.
        return {key: _cast(item, dtype) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        cast = [_cast(item, dtype) for item in value]
        return type(value)(cast) if not hasattr(value, "_fields") else type(value)(*cast)
    return value


class _AutocastBeginUpdate:
    """A shim's ``begin_update`` under bf16 autocast, its outputs back in float32.

    thinc's backprop reads only the gradients it is given, which thinc pairs
    with the outputs returned here: the float32 casts are in the graph, and
    the backward pass flows through them into the bf16 one. A class rather
    than a closure so the shim pickles; it calls the class's method.
    """

    def __init__(self, shim: "PyTorchShim") -> None:
        self.shim = shim

    def __call__(self, inputs: "ArgsKwargs") -> tuple[Any, Any]:
        import torch

        from .components.thinc_adapter import shim_module

        device = _device_of([shim_module(self.shim)]).split(":")[0]
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            output, backprop = type(self.shim).begin_update(self.shim, inputs)
        return _cast(output, torch.float32), backprop
