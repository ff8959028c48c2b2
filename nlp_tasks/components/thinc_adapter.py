"""The one place that reaches into thinc's and spacy-transformers' internals.

thinc has no public way to get or set the PyTorch module that a
``PyTorchShim`` wraps, nor to reach its gradient scaler, and its optimizer
step cannot be swapped for another except by replacing the shim's
``finish_update``. nlp-tasks needs all three (``optimizer.py`` steps in place;
the generative decoder is built after its shim), so they are done here alone.
Likewise spacy-transformers' listener has no public way to tell which batch it
holds, which a head that skips a batch must release.
``tests/test_upstream_adapters.py`` checks each assumption made here against
the installed thinc and spacy-transformers, and fails naming the versions in
``TESTED_WITH`` when one no longer holds. docs/architecture.md ("Upstream
internals") lists them.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thinc.api import Model, Optimizer, PyTorchGradScaler, PyTorchShim, Shim

#: The upstream releases whose code this module was last checked against.
TESTED_WITH = {"thinc": "8.3.14", "spacy-transformers": "1.4.0"}


def shim_module(shim: "Shim") -> Any:
    """The object a thinc shim wraps: a ``torch.nn.Module`` for a ``PyTorchShim``.

    shim (Shim): Any thinc shim.
    RETURNS (Any): The wrapped object, or None if the shim holds none (yet).
    """
    return shim._model


def torch_module(model: "Model") -> Any:
    """The PyTorch module of a model that wraps one, such as ``PyTorchWrapper_v2``'s.

    model (Model): A thinc model whose first shim is a ``PyTorchShim``.
    RETURNS (torch.nn.Module | None): The module, or None if the shim holds none (yet).
    """
    return shim_module(model.shims[0])


def set_shim_module(shim: "PyTorchShim", module: Any) -> None:
    """Make a shim wrap another PyTorch module, keeping the shim itself.

    The shim's id (the optimizer's key for its parameters) and its optimizer
    step, which may have been replaced already, stay as they are.

    shim (PyTorchShim): The shim.
    module (torch.nn.Module): The module, already on the device it runs on.
    """
    shim._model = module


def grad_scaler(shim: "PyTorchShim") -> "PyTorchGradScaler":
    """The gradient scaler of a PyTorch shim (whose ``found_inf`` says to skip a step).

    shim (PyTorchShim): The shim.
    RETURNS (PyTorchGradScaler): Its scaler.
    """
    return shim._grad_scaler


def replace_finish_update(shim: "PyTorchShim", step: "Callable[[Optimizer], None]") -> None:
    """Make ``Model.finish_update`` apply ``step`` to this shim instead of thinc's step.

    shim (PyTorchShim): The shim, of this instance only.
    step (Callable[[Optimizer], None]): Applies the optimizer to the shim's parameters,
        zeroes their gradients and updates the gradient scaler, as thinc's does.
    """
    shim.finish_update = step  # type: ignore[method-assign]


def pending_listener_outputs(node: "Model") -> list[Any] | None:
    """The transformer outputs a spacy-transformers listener holds until its backprop.

    node (Model): Any node of a model.
    RETURNS (list | None): The outputs (``TransformerData``) of the batch the
        listener received and has not backpropagated; None for a node that is
        no listener or holds no batch.
    """
    if getattr(node, "_batch_id", None) is None or not hasattr(node, "backprop_and_clear"):
        return None
    return node._outputs or []
