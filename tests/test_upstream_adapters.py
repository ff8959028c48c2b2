"""What nlp-tasks assumes about thinc and spacy-transformers beyond their public API.

Every use of upstream internals goes through ``nlp_tasks.components.thinc_adapter``;
each test here checks one assumption it makes against the installed releases. A
failure means an upgrade changed that code: re-read the upstream code named in the
message, carry the change over to the adapter (and to the in-place step in
``nlp_tasks/components/optimizer.py``), then update ``TESTED_WITH`` and this file.
"""

import hashlib
import inspect
import io
import textwrap
import tokenize
from importlib.metadata import version

import pytest
import torch
from thinc.api import (
    SGD,
    Adam,
    ArgsKwargs,
    Model,
    PyTorchGradScaler,
    PyTorchShim,
    PyTorchWrapper_v2,
)

from nlp_tasks.components import optimizer as in_place
from nlp_tasks.components.thinc_adapter import (
    TESTED_WITH,
    grad_scaler,
    pending_listener_outputs,
    replace_finish_update,
    set_shim_module,
    shim_module,
    torch_module,
)

# The code of thinc's PyTorchShim.finish_update (its tokens, so that comments and
# line breaks do not count), whose contract the in-place step keeps: skip the update after an
# overflow, zero every gradient, update the scaler once, key parameters by
# (shim.id, name).
FINISH_UPDATE_DIGEST = "e2641042c392cc0972afce665e9126d917eeb0256b2cc16a4167a9e82beea0e0"


def upstream_changed(what: str) -> str:
    installed = ", ".join(f"{name} {version(name)}" for name in TESTED_WITH)
    tested = ", ".join(f"{name} {v}" for name, v in TESTED_WITH.items())
    return (
        f"{what}. nlp_tasks.components.thinc_adapter was checked against {tested}; "
        f"installed: {installed}. Re-read the upstream code, carry the change over to "
        "thinc_adapter.py (and optimizer.py's in-place step), then update TESTED_WITH "
        "and tests/test_upstream_adapters.py (docs/architecture.md, 'Upstream internals')."
    )


def code_digest(function) -> str:
    source = textwrap.dedent(inspect.getsource(function))
    layout = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    code = " ".join(token.string for token in tokens if token.type not in layout)
    return hashlib.sha256(code.encode("utf8")).hexdigest()


class CpuGradScaler(PyTorchGradScaler):
    """An enabled scaler with a scale of 1 that never scales: scaling needs CUDA,
    but reporting an overflow (an infinite gradient) works on any device."""

    def __init__(self) -> None:
        super().__init__(enabled=True, init_scale=1.0)

    def scale(self, tensors, inplace=False):
        return tensors


def linear_shim(scaler: PyTorchGradScaler | None = None, seed: int = 0) -> PyTorchShim:
    torch.manual_seed(seed)
    return PyTorchShim(torch.nn.Linear(3, 2), grad_scaler=scaler)


def backprop(shim: PyTorchShim, gradient: float) -> None:
    """One forward and backward pass through the shim, as PyTorchWrapper runs them."""
    output, finish = shim.begin_update(ArgsKwargs(args=(torch.ones(4, 3),), kwargs={}))
    finish(
        ArgsKwargs(args=(output,), kwargs={"grad_tensors": (torch.full_like(output, gradient),)})
    )


def test_a_pytorch_shim_holds_what_the_adapter_reads():
    shim = linear_shim()
    for name in ("_model", "_grad_scaler"):
        assert name in vars(shim), upstream_changed(f"thinc's PyTorchShim has no {name} now")


def test_thinc_s_optimizer_step_is_the_one_the_in_place_step_mirrors():
    assert code_digest(PyTorchShim.finish_update) == FINISH_UPDATE_DIGEST, upstream_changed(
        "thinc's PyTorchShim.finish_update changed"
    )


@pytest.mark.parametrize("gradient", [0.5, float("inf")], ids=["finite", "overflow"])
@pytest.mark.parametrize("make_optimizer", [Adam, SGD], ids=["adam", "sgd"])
def test_the_in_place_step_gives_thinc_s_weights(gradient, make_optimizer):
    theirs = linear_shim(CpuGradScaler())
    ours = linear_shim(CpuGradScaler())
    in_place.use_in_place_updates(Model("ours", lambda *a: a, shims=[ours]))
    for shim in (theirs, ours):
        backprop(shim, gradient)
        shim.finish_update(make_optimizer(0.1))
    for mine, upstream in zip(
        shim_module(ours).parameters(), shim_module(theirs).parameters(), strict=True
    ):
        assert torch.equal(mine, upstream), upstream_changed(
            "thinc's optimizer step now gives other weights than nlp-tasks' in-place step"
        )
        assert not mine.grad.any()
    assert not grad_scaler(ours).found_inf


def test_the_module_of_a_shim_is_where_thinc_runs_and_saves_it():
    shim = linear_shim()
    module = torch.nn.Linear(3, 2)
    set_shim_module(shim, module)
    x = torch.ones(1, 3)
    assert torch.equal(shim.predict(ArgsKwargs(args=(x,), kwargs={})), module(x).detach()), (
        upstream_changed("PyTorchShim.predict no longer runs the module in shim._model")
    )
    reloaded = linear_shim(seed=1).from_bytes(shim.to_bytes())
    assert torch.equal(shim_module(reloaded).weight, module.weight), upstream_changed(
        "PyTorchShim.to_bytes/from_bytes no longer save and restore shim._model"
    )


def test_a_shim_built_empty_takes_its_module_later_and_from_bytes():
    # The generative decoder's case: its shim is built before the module, and a
    # saved pipeline gets its module back from the deserialize callback.
    def rebuild(_module, data, device):
        return torch.nn.Linear(3, 2).to(device) if data else None

    empty = PyTorchShim(None, deserialize_model=rebuild, serialize_model=lambda m: b"x")
    assert shim_module(empty) is None
    loaded = empty.from_bytes(
        PyTorchShim(torch.nn.Linear(3, 2), serialize_model=lambda m: b"x").to_bytes()
    )
    assert isinstance(shim_module(loaded), torch.nn.Linear), upstream_changed(
        "PyTorchShim.from_bytes no longer keeps the module its deserialize_model returns"
    )


def test_the_grad_scaler_reports_overflows_of_the_backward_pass():
    shim = linear_shim(CpuGradScaler())
    assert isinstance(grad_scaler(shim), PyTorchGradScaler), upstream_changed(
        "PyTorchShim._grad_scaler is no longer its PyTorchGradScaler"
    )
    backprop(shim, float("inf"))
    assert grad_scaler(shim).found_inf, upstream_changed(
        "PyTorchShim's backward pass no longer reports overflows through _grad_scaler.found_inf"
    )
    grad_scaler(shim).update()
    assert not grad_scaler(shim).found_inf


def test_model_finish_update_runs_the_step_that_replaced_thinc_s():
    model = PyTorchWrapper_v2(torch.nn.Linear(3, 2))
    calls = []
    replace_finish_update(model.shims[0], calls.append)
    optimizer = Adam(0.1)
    model.finish_update(optimizer)
    assert calls == [optimizer], upstream_changed(
        "thinc's Model.finish_update no longer calls each shim's finish_update"
    )
    assert torch_module(model) is shim_module(model.shims[0])


def test_spacy_transformers_keeps_its_transformer_in_a_plain_pytorch_shim(tiny_backbone):
    import spacy
    from spacy_transformers.layers.hf_shim import HFShim

    from nlp_tasks.components.backbone import create_backbone

    assert issubclass(HFShim, PyTorchShim) and "finish_update" not in vars(HFShim), (
        upstream_changed("spacy-transformers' HFShim has its own optimizer step now")
    )
    get_spans = spacy.registry.span_getters.get("spacy-transformers.doc_spans.v1")()
    model = create_backbone(str(tiny_backbone), get_spans)
    model.initialize(X=[spacy.blank("en")("a short text")])
    shim = model.layers[0].shims[0]
    assert isinstance(shim, HFShim)
    assert shim_module(shim) is model.transformer, upstream_changed(
        "spacy-transformers' HFShim no longer holds the transformer in shim._model"
    )


def test_a_transformer_listener_shows_the_batch_it_holds():
    from spacy_transformers.layers import TransformerListener

    listener = TransformerListener("transformer")
    assert pending_listener_outputs(listener) is None
    outputs, gradients = [object()], []
    listener.receive(7, outputs, gradients.append)
    assert pending_listener_outputs(listener) == outputs, upstream_changed(
        "spacy-transformers' TransformerListener.receive no longer keeps the batch in "
        "_batch_id and _outputs"
    )
    listener.backprop_and_clear(["gradient"])
    assert gradients == [["gradient"]]
    assert pending_listener_outputs(listener) is None, upstream_changed(
        "spacy-transformers' TransformerListener.backprop_and_clear no longer clears _batch_id"
    )
    assert pending_listener_outputs(Model("plain", lambda *a: a)) is None
