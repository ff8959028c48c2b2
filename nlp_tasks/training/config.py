"""Generating a complete spaCy training config for a set of tasks."""

import inspect
import warnings
from typing import Any

from thinc.api import Config

from ..errors import ConfigError, Errors, Warnings
from ..registry import manager as plugins
from ..registry.default_backbones import DEFAULT_BACKBONE
from . import recipe

_BASE = """
[paths]
data = "assets"

[system]
gpu_allocator = null
seed = 0

[nlp]
lang = "{lang}"
pipeline = []
batch_size = 64

[nlp.after_pipeline_creation]
@callbacks = "nlp_tasks.pipeline_setup.v2"
# What the PyTorch modules compute in once the trained pipeline is loaded:
# fp32, bf16, int8 or auto (docs/precision.md).
precision = "fp32"
# What they compute in while training: fp32, bf16 (autocast; weights and the
# optimizer's state stay fp32) or auto (bf16 where the CPU or GPU has it natively).
training_precision = "fp32"

[components]

[components.transformer]
factory = "transformer"
max_batch_items = 4096

[components.transformer.model]
@architectures = "nlp_tasks.Backbone.v1"
name = "{backbone}"
mixed_precision = false
# The backbone's learning rate as a fraction of the heads' (training.optimizer).
learn_rate_scale = {backbone_learn_rate_scale}
# Each layer below the top trains at this fraction of the rate of the one above.
layer_decay = 1.0

[components.transformer.model.get_spans]
@span_getters = "nlp_tasks.segmented_spans.v1"
window = {window}
stride = {stride}

[components.transformer.model.tokenizer_config]
use_fast = true

[corpora]

[corpora.train]
@readers = "nlp_tasks.MultiTaskCorpus.v1"
shuffle = true
# Task weights n ** (1 / T): a small task is not drowned by a big one
# (nlp_tasks/training/recipe.py says why this value).
temperature = {temperature}
limit = 0
seed = ${{system.seed}}

[corpora.train.sources]

# A factor on a task's share of the draws, 1.0 for a task not listed
# (--corpora.train.weights.translation 3 at `spacy train`).
[corpora.train.weights]

[corpora.dev]
@readers = "nlp_tasks.MultiTaskCorpus.v1"
shuffle = false
limit = 0

[corpora.dev.sources]

[training]
train_corpus = "corpora.train"
dev_corpus = "corpora.dev"
seed = ${{system.seed}}
gpu_allocator = ${{system.gpu_allocator}}
dropout = 0.1
accumulate_gradient = 1
patience = 0
# -1: stream the corpus anew each epoch, so MultiTaskCorpus resamples tasks
# (0 would materialise one sample of the whole corpus in memory).
max_epochs = -1
max_steps = {max_steps}
eval_frequency = {eval_frequency}

[training.logger]
@loggers = "spacy.ConsoleLogger.v1"
progress_bar = true

[training.optimizer]
@optimizers = "Adam.v1"
beta1 = 0.9
beta2 = 0.999
L2_is_weight_decay = true
L2 = 0.01
grad_clip = 1.0
use_averages = false
eps = 0.00000001

# Warmup and decay follow training.max_steps, overridden or not.
[training.optimizer.learn_rate]
@schedules = "nlp_tasks.warmup_linear.v1"
initial_rate = {learn_rate}
total_steps = ${{training.max_steps}}
warmup_fraction = {warmup_fraction}
"""


def evaluation_interval(eval_frequency: int, max_steps: int) -> int:
    """Steps between evaluations, at most ``max_steps``.

    spaCy scores the dev set (and writes ``model-best``) at step 0 and every
    ``eval_frequency`` steps, not at the last one: a run shorter than the
    interval would keep the untrained step-0 pipeline as ``model-best``.

    eval_frequency (int): The interval asked for.
    max_steps (int): Training steps; 0 or less: no limit.
    RETURNS (int): The interval to write.
    """
    return min(eval_frequency, max_steps) if max_steps > 0 else eval_frequency


def make_config(
    tasks: list[str],
    *,
    backbone: str = DEFAULT_BACKBONE,
    lang: str = "en",
    gpu: bool = False,
    max_steps: int = recipe.MAX_STEPS,
    eval_frequency: int = 200,
    learn_rate: float = recipe.LEARN_RATE,
    backbone_learn_rate_scale: float = recipe.BACKBONE_LEARN_RATE_SCALE,
    window: int = 128,
    stride: int = 96,
    precision: str = "fp32",
    training_precision: str = "fp32",
) -> Config:
    """Build a complete training config: one shared transformer and one head per task.

    Each task reads ``${paths.data}/<task>/train.jsonl`` and ``dev.jsonl``
    (the layout of ``assets/``); override ``--paths.data`` or the
    ``[paths]`` entry of a single task (``--paths.<task>_train``). The
    defaults are the project's one recipe (``nlp_tasks.training.recipe``); the
    learning rate warms up over the first tenth of ``training.max_steps`` and
    falls to 0 at its end, whatever ``max_steps`` is overridden to. Batches hold
    records sorted by length (``recipe.BATCHER``); a head that writes text among
    other heads is warned about (W014).

    tasks (list[str]): Task names, each provided by an installed plugin.
    backbone (str): Backbone alias, local model directory or Hub name.
    lang (str): spaCy language code for the tokenizer.
    gpu (bool): Configure for training on a GPU (PyTorch allocator, mixed
        precision); a CPU config has neither.
    max_steps (int): Training steps.
    eval_frequency (int): Steps between evaluations (at most ``max_steps``, so
        that a short run is scored at its end).
    learn_rate (float): The heads' peak learning rate.
    backbone_learn_rate_scale (float): The backbone's learning rate as a
        fraction of ``learn_rate``, e.g. 0.1 for heads trained from scratch
        at 1e-3 on a backbone fine-tuned at 1e-4.
    window (int): Span length, in spaCy tokens, fed to the backbone.
    stride (int): Step between spans; less than ``window`` makes them overlap.
    precision (str): What the trained pipeline's PyTorch modules compute in once
        loaded: fp32, bf16, int8 or auto (docs/precision.md).
    training_precision (str): What they compute in while training: fp32, bf16
        (autocast, fp32 weights) or auto.
    RETURNS (Config): The filled config.
    """
    from spacy.util import get_lang_class, load_model_from_config

    try:
        get_lang_class(lang)
    except (ImportError, ValueError):
        # spaCy's own error came up as a traceback from `nlp-tasks init config`.
        raise ConfigError(Errors.E165.format(lang=lang)) from None
    if not tasks:
        raise ConfigError(Errors.E034.format(available=sorted(plugins.get_tasks()) or "none"))
    for name in tasks:
        if tasks.count(name) > 1:
            raise ConfigError(Errors.E035.format(task=name, tasks=", ".join(tasks)))
    resolved = [plugins.get_task(name) for name in tasks]
    check_distinct_doc_attributes({task.name: task.factory for task in resolved})
    text = _BASE.format(
        lang=lang,
        backbone=backbone,
        window=window,
        stride=stride,
        max_steps=max_steps,
        eval_frequency=evaluation_interval(eval_frequency, max_steps),
        warmup_fraction=recipe.WARMUP_FRACTION,
        temperature=recipe.TEMPERATURE,
        learn_rate=learn_rate,
        backbone_learn_rate_scale=backbone_learn_rate_scale,
    )
    config = Config().from_str(text, interpolate=False)
    config["nlp"]["after_pipeline_creation"]["precision"] = precision
    config["nlp"]["after_pipeline_creation"]["training_precision"] = training_precision
    # Each head's learning rate as a multiple of the heads' rate, as its task
    # declares it (Task.learn_rate_scale): written out, so the config shows it.
    config["nlp"]["after_pipeline_creation"]["learn_rate_scales"] = {
        task.name: float(task.learn_rate_scale) for task in resolved
    }
    config["nlp"]["pipeline"] = ["transformer"] + [task.name for task in resolved]
    config["training"]["batcher"] = dict(recipe.BATCHER)
    for task in resolved:
        config["paths"][f"{task.name}_train"] = f"${{paths.data}}/{task.name}/train.jsonl"
        config["paths"][f"{task.name}_dev"] = f"${{paths.data}}/{task.name}/dev.jsonl"
        config["corpora"]["train"]["sources"][task.name] = f"${{paths.{task.name}_train}}"
        config["corpora"]["dev"]["sources"][task.name] = f"${{paths.{task.name}_dev}}"
        config["components"][task.name] = {"factory": task.factory, **task.component_config}
    if gpu:
        config["system"]["gpu_allocator"] = "pytorch"
        config["components"]["transformer"]["model"]["mixed_precision"] = True
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    filled = nlp.config
    filled["paths"].update(config["paths"])
    warn_if_a_decoder_shares_the_run({t.name: nlp.get_pipe(t.name) for t in resolved})
    for task in resolved:
        settings = initialize_settings(nlp.get_pipe(task.name), task.name)
        if settings:
            filled["initialize"]["components"][task.name] = settings
    return filled


def check_distinct_doc_attributes(factories: dict[str, str]) -> None:
    """Refuse two components that write one ``Doc._`` attribute.

    Each would overwrite the other's output, and a reader that keeps its gold
    there would train the other head on it. The attributes are those each
    factory's ``assigns`` declares.

    factories (dict[str, str]): Component name to its factory name.
    """
    writers: dict[str, str] = {}
    for component, factory in factories.items():
        for attribute in plugins.doc_attributes(factory):
            other = writers.setdefault(attribute, component)
            if other != component:
                raise ConfigError(
                    Errors.E175.format(first=other, second=component, attribute=attribute)
                )


def warn_if_a_decoder_shares_the_run(components: dict[str, Any]) -> None:
    """Warn (W014) when a head that writes text is trained in one run with others.

    The generated batcher sorts records by length, so a decoder's short records,
    beside heads of long documents, come in few steps, and it may never learn to
    speak; mixing every step instead costs the other heads (``recipe``). Trained
    after the others, with ``add-task``, it did best.

    components (dict[str, Any]): The config's task components by task name.
    """
    from ..generation import GenerativeHead

    writers = [name for name, pipe in components.items() if isinstance(pipe, GenerativeHead)]
    others = [name for name in components if name not in writers]
    if writers and others:
        warnings.warn(
            Warnings.W014.format(writers=", ".join(writers), others=", ".join(others)),
            stacklevel=3,
        )


def initialize_settings(component: Any, task_name: str) -> dict[str, str]:
    """What a generated config gives a task's component at ``nlp.initialize``.

    spaCy initializes from the first 100 examples of a streamed corpus, of
    every task. A head whose ``initialize`` takes ``train_path`` (one that
    learns a vocabulary from its data, as ``GenerativeHead``) is given its
    task's whole training file instead.

    component (Any): The task's pipeline component.
    task_name (str): The task's name, which names its ``[paths]`` entry.
    RETURNS (dict[str, str]): The component's ``[initialize.components]`` block; empty if none.
    """
    from ..generation import GenerativeHead

    if "train_path" in inspect.signature(component.initialize).parameters:
        return {"train_path": f"${{paths.{task_name}_train}}"}
    if isinstance(component, GenerativeHead):
        # Its initialize override drops the argument the base class reads the file with.
        warnings.warn(
            Warnings.W012.format(component=type(component).__name__, task=task_name),
            stacklevel=2,
        )
    return {}
