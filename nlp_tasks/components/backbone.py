"""The shared backbone: alias resolution and the ``nlp_tasks.Backbone.v1`` architecture."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from thinc.api import Model

from ..errors import BackboneError, Errors
from ..registry import manager as plugins
from .optimizer import use_in_place_updates


def backbone_aliases() -> dict[str, Callable[[], str | None] | str]:
    """Every registered backbone alias.

    An alias registered twice keeps the locator registered last, in the order
    the plugin manager calls the hook (the core's own aliases come last).

    RETURNS (dict): Alias to a directory path, or to a callable returning one.
    """
    return _registered_backbones()[0]


def backbone_owners() -> dict[str, list[str]]:
    """Which plugin registers which backbone aliases (``nlp-tasks plugins``).

    RETURNS (dict[str, list[str]]): Plugin name to the aliases its
        ``register_backbones`` hook registers, in the order it registers them.
    """
    return _registered_backbones()[1]


def _registered_backbones() -> tuple[dict[str, Any], dict[str, list[str]]]:
    aliases: dict[str, Any] = {}
    owners: dict[str, list[str]] = {}
    current: list[str] = []

    def start(plugin: str) -> None:
        current[:] = [plugin]
        owners.setdefault(plugin, [])

    def register(alias: str, locate: Callable[[], str | None] | str) -> None:
        aliases[alias] = locate
        owners[current[0]].append(alias)

    plugins.call_each("register_backbones", before_each=start, register=register)
    return aliases, owners


def resolve_backbone(name: str) -> str:
    """Turn a backbone name into what ``from_pretrained`` should load.

    An alias becomes its local directory; an existing path is returned as is
    if it is a model directory (config, weights and tokenizer files) and
    refused at once otherwise; anything else is taken as a Hugging Face Hub
    name.

    name (str): An alias, a local directory or a Hub name.
    RETURNS (str): A local directory or a Hub name.
    """
    locate = backbone_aliases().get(name)
    if locate is not None:
        located = locate() if callable(locate) else locate
        if located:
            path = Path(located).expanduser()
            if not path.exists():
                plugin = _alias_owner(name)
                raise BackboneError(Errors.E172.format(name=name, path=path, plugin=plugin))
            problem = _not_a_model_directory(path)
            if problem:
                raise BackboneError(Errors.E015.format(name=path, problem=problem))
            return str(path)
    path = Path(name).expanduser()
    if path.exists():
        problem = _not_a_model_directory(path)
        if problem:
            raise BackboneError(Errors.E015.format(name=path, problem=problem))
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        raise BackboneError(Errors.E014.format(name=name))
    return name


def _alias_owner(alias: str) -> str:
    """The plugin whose ``register_backbones`` registered ``alias`` last."""
    owners = [plugin for plugin, aliases in backbone_owners().items() if alias in aliases]
    return owners[-1] if owners else "unknown"


# Files by which a directory's weights and tokenizer are recognised: every
# format save_pretrained writes (sharded checkpoints too), and the vocabulary
# files of WordPiece, BPE, SentencePiece and tiktoken tokenizers.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".index.json")
_TOKENIZER_SUFFIXES = (".model", ".spm", ".tiktoken")
_TOKENIZER_NAMES = ("tokenizer.json", "merges.txt", "bpe.codes")


def _not_a_model_directory(path: Path) -> str:
    """What keeps ``path`` from being a Hugging Face model directory; "" if nothing."""
    if not path.is_dir():
        return "it is a file, not a directory"
    names = [child.name for child in path.iterdir() if child.is_file()]
    missing = []
    if "config.json" not in names:
        missing.append("no config.json")
    if not any(name.endswith(_WEIGHT_SUFFIXES) for name in names):
        missing.append("no weights (*.safetensors or *.bin)")
    if not any(
        name in _TOKENIZER_NAMES or name.startswith("vocab") or name.endswith(_TOKENIZER_SUFFIXES)
        for name in names
    ):
        missing.append("no tokenizer files (tokenizer.json, vocab.txt, vocab.json or *.model)")
    if not missing:
        return ""
    return "it has " + ", ".join(missing)


def create_backbone(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict | None = None,
    transformer_config: dict | None = None,
    mixed_precision: bool = False,
    grad_scaler_config: dict | None = None,
    learn_rate_scale: float = 1.0,
    layer_decay: float = 1.0,
) -> Model:
    """Build spacy-transformers' TransformerModel for a name that may be an alias.

    The name is resolved when the model is initialized (at the start of
    training), not when it is built: a saved pipeline carries its weights and
    loads without the alias or the path it was trained from.

    name (str): Backbone alias, local directory or Hugging Face Hub name.
    get_spans (Callable): Span getter; strided spans keep long docs whole.
    tokenizer_config (dict): Settings for the Hugging Face tokenizer.
    transformer_config (dict): Settings for the Hugging Face model config.
    mixed_precision (bool): Use mixed precision (GPU only).
    grad_scaler_config (dict): Settings for the PyTorch gradient scaler.
    learn_rate_scale (float): Multiplies the training learning rate for the
        backbone's weights only, so heads can learn faster than the backbone
        they share (e.g. 0.1 with ``[training.optimizer.learn_rate]`` set for
        the heads).
    layer_decay (float): Multiplies the backbone's scale once more for each
        layer below the top one, embeddings lowest (e.g. 0.8: layer-wise
        learning-rate decay); 1.0 trains every layer at ``learn_rate_scale``.
    RETURNS (Model): The transformer model.
    """
    from spacy.util import registry

    build = registry.architectures.get("spacy-transformers.TransformerModel.v3")
    model = build(
        name,
        get_spans,
        tokenizer_config or {},
        transformer_config or {},
        mixed_precision,
        grad_scaler_config or {},
    )
    model.init = _ResolvingInit(model.init)
    return use_in_place_updates(model, lr_scale=learn_rate_scale, layer_decay=layer_decay)


class _ResolvingInit:
    """The backbone model's ``init``: resolve the name first, then load.

    A class rather than a closure so the model pickles, which ``nlp.pipe`` with
    ``n_process`` > 1 needs under the spawn start method.
    """

    def __init__(self, init: Callable) -> None:
        self.init = init

    def __call__(self, model: Model, X: Any = None, Y: Any = None) -> Any:
        """Initialize the model, loading the backbone its ``name`` resolves to.

        model (Model): The spacy-transformers model.
        X (Any): Sample input, passed on.
        Y (Any): Sample output, passed on.
        RETURNS (Any): What the wrapped ``init`` returns.
        """
        if model.attrs["has_transformer"]:
            return self.init(model, X=X, Y=Y)
        name = model.attrs["name"]
        model.attrs["name"] = resolve_backbone(name)
        try:
            return self.init(model, X=X, Y=Y)
        except OSError as error:
            reason = str(error).splitlines()[0]
            registered = backbone_aliases()
            if name in registered:
                raise BackboneError(
                    Errors.E173.format(name=name, plugin=_alias_owner(name), error=reason)
                ) from error
            aliases = ", ".join(sorted(registered)) or "none registered"
            raise BackboneError(
                Errors.E013.format(name=name, aliases=aliases, error=reason)
            ) from error
