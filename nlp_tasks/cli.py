"""The ``nlp-tasks`` command line."""

import importlib
import inspect
import io
import json
import math
import signal
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from . import precision as precision_settings
from .batch import options as process_options
from .convert.command import CONTEXT_SETTINGS as CONVERT_CONTEXT
from .convert.command import convert_command
from .errors import Errors, NlpTasksError, why_not_a_file
from .fetch.command import fetch_command, holdout_command
from .registry import manager as plugins
from .serve.command import serve_command
from .training import recipe

if TYPE_CHECKING:
    from .training.extend import AddTaskResult

# typer < 0.26 runs on the click package and typer >= 0.26 on its own copy of it
# (typer._click). typer.BadParameter is that click's class in either, so its module
# holds the exceptions our commands raise and parse errors arrive as.
_click_exceptions = importlib.import_module(typer.BadParameter.__module__)
ClickException = _click_exceptions.ClickException
UsageError = _click_exceptions.UsageError


def _positive(value: float | None) -> float | None:
    """Option callback: refuse a value that is not a finite number above 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a finite number above 0, got {value}.")
    return value


app = typer.Typer(
    help="Multi-task spaCy pipelines on one shared transformer.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
init_app = typer.Typer(help="Create configs.", no_args_is_help=True)
app.add_typer(init_app, name="init")


@app.command("plugins")
def plugins_command(
    all_plugins: bool = typer.Option(
        False,
        "--all",
        help="Also list the core's own hook modules (default backbones, generic converters).",
    ),
    hook: str = typer.Option(None, help="Only plugins implementing this hook."),
) -> None:
    """List the discovered plugins as JSON.

    Each entry names the distribution, its version, its tasks and their descriptions,
    factories, backbone aliases and status. `builtin` is true only for the core's own
    modules (--all); the task plugins shipped with nlp-tasks are distributions like any
    other."""
    from .components.backbone import backbone_owners

    infos = plugins.plugin_infos(all_plugins=all_plugins)
    if hook:
        infos = [info for info in infos if hook in info.hooks]
    owners = backbone_owners()
    listing = [{**info.to_dict(), "backbones": owners.get(info.name, [])} for info in infos]
    typer.echo(json.dumps(listing, indent=2))


@init_app.command("config")
def init_config_command(
    output: Path = typer.Argument(..., help="Where to write the config ('-' for stdout)."),
    tasks: str = typer.Option(..., help="Comma-separated task names, e.g. sentiment,ner."),
    backbone: str = typer.Option(None, help="Backbone alias, local model directory or Hub name."),
    lang: str = typer.Option("en", help="spaCy language code."),
    gpu: bool = typer.Option(False, "--gpu", help="Configure for GPU training."),
    gpu_id: int = typer.Option(
        -1,
        "--gpu-id",
        help="The GPU the config is for, as `spacy train --gpu-id` takes it: 0 or more "
        "configures for a GPU (as --gpu); -1, the CPU, adds no GPU setting.",
    ),
    max_steps: int = typer.Option(recipe.MAX_STEPS, min=1, help="Training steps."),
    eval_frequency: int = typer.Option(
        200, min=1, help="Steps between evaluations (at most --max-steps)."
    ),
    learn_rate: float = typer.Option(
        recipe.LEARN_RATE, callback=_positive, help="The heads' peak learning rate."
    ),
    backbone_learn_rate_scale: float = typer.Option(
        recipe.BACKBONE_LEARN_RATE_SCALE,
        callback=_positive,
        help="The backbone's learning rate as a fraction of the heads'.",
    ),
    precision: str = typer.Option(
        "fp32",
        help="What the trained pipeline computes in once loaded: fp32, bf16, int8 or auto "
        "(docs/precision.md).",
        callback=precision_settings.option_callback,
    ),
    training_precision: str = typer.Option(
        "fp32",
        help="What training computes in: fp32, bf16 (autocast; weights and optimizer state "
        "stay fp32) or auto (bf16 where the CPU or GPU has it natively).",
        callback=precision_settings.training_option_callback,
    ),
) -> None:
    """Write a complete training config: shared transformer + one head per task.

    The defaults are the project's one recipe (nlp_tasks/training/recipe.py); the
    learning rate warms up over the first tenth of the steps and falls to 0 at the
    last, also when --training.max_steps is overridden at `spacy train`.
    """
    from .components.backbone import resolve_backbone
    from .registry.default_backbones import DEFAULT_BACKBONE
    from .training.config import make_config

    to_stdout = str(output) == "-"
    if not to_stdout:
        _check_writable(output, "OUTPUT")
    backbone = backbone or DEFAULT_BACKBONE
    resolve_backbone(backbone)
    names = [name.strip() for name in tasks.split(",") if name.strip()]
    config = make_config(
        names,
        backbone=backbone,
        lang=lang,
        gpu=gpu or gpu_id >= 0,
        max_steps=max_steps,
        eval_frequency=eval_frequency,
        learn_rate=learn_rate,
        backbone_learn_rate_scale=backbone_learn_rate_scale,
        precision=precision,
        training_precision=training_precision,
    )
    if to_stdout:
        sys.stdout.write(config.to_str())
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        config.to_disk(output)
    except OSError as error:
        _fail(Errors.E047.format(path=output, option="OUTPUT", problem=_reason(error)))
    typer.echo(f"Wrote {output} (tasks: {', '.join(names)}; backbone: {backbone})")


@app.command("new-plugin")
def new_plugin_command(
    name: str = typer.Argument(..., help="Task name, e.g. keyphrases."),
    directory: Path = typer.Option(Path("."), help="Where to create nlp-tasks-NAME/."),
    description: str = typer.Option("", help="One line for the package metadata."),
    input_kind: str = typer.Option(
        "text",
        "--input",
        help="What the task reads: text (one text a record) or pair (text_a and text_b).",
    ),
) -> None:
    """Scaffold a ready-to-publish task plugin distribution."""
    from .registry.scaffold import new_plugin

    if directory.exists() and not directory.is_dir():
        _fail(Errors.E047.format(path=directory, option="--directory", problem="it is a file"))
    target = new_plugin(name, directory, description=description, input_kind=input_kind)
    typer.echo(
        f'Wrote {target}. Next: pip install -e "{target}[test]" && nlp-tasks plugins, '
        f"then pytest in {target}"
    )


@app.command("add-task")
def add_task_command(
    pipeline: str = typer.Argument(..., help="Trained pipeline directory or package name."),
    task: str = typer.Argument(
        ...,
        help="The task to add, from an installed plugin; several, separated by commas, are "
        "added one after another (they need --data); '' adds none and copies the pipeline.",
    ),
    output: Path = typer.Option(..., help="Directory for the run and the extended pipeline."),
    train: Path = typer.Option(None, help="JSONL training records of the new task."),
    dev: Path = typer.Option(None, help="JSONL dev records of the new task."),
    data: Path = typer.Option(
        None,
        help="Directory with <task>/train.jsonl and <task>/dev.jsonl (instead of --train/--dev).",
    ),
    max_steps: int = typer.Option(1000, min=1, help="Training steps (of each task)."),
    eval_frequency: int = typer.Option(
        200, min=1, help="Steps between evaluations (at most --max-steps)."
    ),
    learn_rate: float = typer.Option(
        recipe.LEARN_RATE, callback=_positive, help="Peak learning rate of the new head."
    ),
    check_file: Path = typer.Option(
        None, help="Texts (one per line) to compare the existing heads on; default: dev texts."
    ),
    gpu_id: int = typer.Option(-1, help="GPU to train on; -1 for CPU."),
) -> None:
    """Train new heads onto a trained pipeline; the existing heads stay as they are."""
    from .training.extend import add_task, add_tasks, check_output

    names = [name.strip() for name in task.split(",") if name.strip()]
    if data is not None and (train is not None or dev is not None):
        raise UsageError("Give --data, or --train and --dev, not both.")
    if data is None and (len(names) != 1 or train is None or dev is None):
        needs = "one task needs" if len(names) == 1 else f"{len(names)} tasks need"
        raise UsageError(
            f"{needs} --data DIR (DIR/<task>/train.jsonl and dev.jsonl)"
            + (", or --train and --dev" if len(names) == 1 else "")
            + "."
        )
    if data is not None and not data.is_dir():
        _fail(Errors.E046.format(path=data, option="--data", problem=why_not_a_file(data)))
    if output.exists() and not output.is_dir():
        _fail(Errors.E047.format(path=output, option="--output", problem="it is a file"))
    check_texts = None
    if check_file is not None:
        records, _, _ = _read_file_records(check_file, "--check-file")
        check_texts = [record["text"] for record in records]
        if not check_texts:
            problem = "it holds no text (blank lines are skipped)"
            _fail(Errors.E046.format(path=check_file, option="--check-file", problem=problem))
    settings = dict(
        output=output,
        max_steps=max_steps,
        eval_frequency=eval_frequency,
        learn_rate=learn_rate,
        check_texts=check_texts,
        gpu_id=gpu_id,
    )
    if data is not None:
        results = add_tasks(pipeline, names, data=data, **settings)
        if not results:
            typer.echo(f"No task to add: copied the pipeline to {output / 'model-best'}.")
        for result in results:
            _report_added(result)
        if len(results) > 1:
            typer.echo(f"Wrote {output / 'model-best'}, the pipeline with {', '.join(names)}.")
        return
    for role, path in (("train", train), ("dev", dev)):
        if not path.is_file():
            _fail(Errors.E030.format(role=role, task=task, path=path, problem=why_not_a_file(path)))
    # Checked again once the pipeline is loaded (a package name resolves then).
    check_output(output, pipeline if Path(pipeline).exists() else None, train=train, dev=dev)
    _report_added(add_task(pipeline, names[0], train=train, dev=dev, **settings))


def _report_added(result: "AddTaskResult") -> None:
    unchanged = ", ".join(result.unchanged) or "none"
    typer.echo(
        f"Wrote {result.model_path}. Existing heads ({unchanged}) give identical outputs "
        f"on docs made from {result.checked_texts} texts."
    )


@app.command("evaluate")
def evaluate_command(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package name."),
    data: Path = typer.Option(None, help="Directory with <task>/dev.jsonl for each task."),
    source: list[str] = typer.Option(None, help="TASK=PATH of a JSONL file (repeatable)."),
    output: Path = typer.Option(None, help="Write all scores to this JSON file."),
    batch_size: int = typer.Option(64, min=1, help="Docs per batch."),
    precision: str = typer.Option(
        None, help=precision_settings.OPTION_HELP, callback=precision_settings.option_callback
    ),
) -> None:
    """Score every head of a pipeline on per-task JSONL data and print a table."""
    from .inference import load
    from .training.evaluate import check_sources, dev_sources, evaluate, format_table

    pairs = _source_pairs(source or [])
    if data is None and not pairs:
        raise UsageError("Give --data DIR or --source TASK=PATH (or both).")
    # Everything that can be checked without the pipeline is, before loading it.
    check_sources(data, pairs)
    if output is not None:
        keep = [(Path(pipeline), "the pipeline")]
        keep += [(path, f"the {task} dev data") for task, path in pairs.items()]
        if data is not None:
            keep += [
                (path, f"the {path.parent.name} dev data") for path in data.glob("*/dev.jsonl")
            ]
        _check_writable(output, "--output", tuple(keep))
    nlp = load(pipeline, precision=precision)
    sources = dev_sources(nlp, data, pairs)
    result = evaluate(nlp, sources, batch_size=batch_size)
    typer.echo(format_table(result))
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(result, indent=2, default=str), encoding="utf8")
        except OSError as error:
            _fail(Errors.E047.format(path=output, option="--output", problem=_reason(error)))


def _source_pairs(pairs: list[str]) -> dict[str, Path]:
    sources: dict[str, Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or not path:
            raise typer.BadParameter(f"expected TASK=PATH, got {pair!r}", param_hint="--source")
        if name.strip() in sources:
            # The later file would win and the earlier go unscored, unsaid.
            raise typer.BadParameter(
                f"task {name.strip()!r} is given twice ({sources[name.strip()]}, {path}); "
                "give each task one file",
                param_hint="--source",
            )
        sources[name.strip()] = Path(path)
    return sources


@app.command("predict")
def predict_command(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package name."),
    texts: list[str] = typer.Argument(None, help="Texts to process."),
    file: Path = typer.Option(
        None,
        help="A text file, one document per line; or a .jsonl file of records with the "
        "fields the pipeline's tasks read ('text'; 'text_a' and 'text_b' for a pair task); "
        "or any input `process` reads (CSV/TSV, Parquet, gzip). Its outputs start with "
        "their line, and their id if they have one, as `process` writes them.",
    ),
    text_field: str = typer.Option("text", help="Field (column) of --file holding the text."),
    field: list[str] = typer.Option(
        None, "--field", help="TASK_FIELD=FIELD: read a task's field from another name."
    ),
    output_format: str = typer.Option(
        "auto",
        "--format",
        help="text: a readable view of each head's output; json: JSON lines; html: a page "
        "(with --output). auto: text on a terminal, JSON lines when piped.",
    ),
    output: Path = typer.Option(
        None, help="Write to this file instead of printing (needed for --format html)."
    ),
    precision: str = typer.Option(
        None, help=precision_settings.OPTION_HELP, callback=precision_settings.option_callback
    ),
) -> None:
    """Run a pipeline on a few texts and show each head's output.

    On a terminal the outputs are drawn (entities marked, labels with their
    scores, questions with their answers); piped, or with --format json, they
    are JSON lines. --format html --output page.html writes a page.

    Blank texts (and blank lines of the file) are skipped and counted, as
    `process` does; if nothing but blank texts is given, there is nothing to do.
    """
    from .inference import load, pipeline_tasks, predict, task_inputs_of

    if output_format not in PREDICT_FORMATS:
        raise typer.BadParameter(
            f"expected one of {', '.join(PREDICT_FORMATS)}, got {output_format!r}",
            param_hint="--format",
        )
    if output_format == "html" and output is None:
        raise UsageError("--format html writes a page: give --output PAGE.html.")
    if output is not None:
        keep = [(Path(pipeline), "the pipeline")] + ([(file, "the --file input")] if file else [])
        _check_writable(output, "--output", tuple(keep))
    if not texts and file is None:
        raise UsageError("Give one or more TEXTS, or --file FILE.")
    mapping = _field_pairs(field or [])
    items: list[Any] = [text for text in texts or [] if text.strip()]
    skipped = len(texts or []) - len(items)
    if file is not None:
        from .batch.processor import pipeline_exists

        # The file is read before the pipeline loads, so its problems show at once;
        # what the tasks read comes from the pipeline's config.
        inputs = task_inputs_of(pipeline) if pipeline_exists(pipeline) else ()
        records, blank, places = _read_file_records(
            file, "--file", text_field=text_field, fields=mapping, inputs=inputs
        )
        items += records
        skipped += blank
        mapping = {}
    if not items:
        raise UsageError(
            f"Nothing to process: every text given is empty or blank ({skipped} skipped)."
        )
    if skipped:
        typer.echo(f"{skipped} blank text(s) skipped.", err=True)
    nlp = load(pipeline, precision=precision)
    records = predict(nlp, items, fields=mapping)
    if file is not None:
        # Blank lines are skipped, so a file's outputs say where they came from, as
        # `process` writes them: its line, and its id if it has one.
        given = len(records) - len(places)
        records[given:] = [{**place, **record} for place, record in zip(places, records[given:])]
    _show_records(records, pipeline_tasks(nlp), output_format, output)


#: The forms `predict` shows its outputs in (--format).
PREDICT_FORMATS = ("auto", "text", "json", "html")


def _show_records(
    records: list[dict[str, Any]], tasks: dict[str, Any], output_format: str, output: Path | None
) -> None:
    from rich.console import Console

    from .views import render_html, render_text

    if output_format == "auto":
        output_format = "text" if output is None and sys.stdout.isatty() else "json"
    if output_format == "html":
        content = render_html(records, tasks)
    elif output_format == "json":
        content = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    else:
        if output is None:
            Console().print(render_text(records, tasks))
            return
        buffer = io.StringIO()
        Console(file=buffer, width=100, color_system=None).print(render_text(records, tasks))
        content = "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
    if output is None:
        typer.echo(content, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(content, encoding="utf-8")
    except OSError as error:
        _fail(Errors.E047.format(path=output, option="--output", problem=_reason(error)))
    typer.echo(f"Wrote {output} ({len(records)} record(s)).", err=True)


def _field_pairs(pairs: list[str]) -> dict[str, str]:
    # The same parser as the service's --field and field= (E091), as a usage error.
    from .errors import RequestError
    from .serve.limits import field_pairs

    try:
        return field_pairs(pairs)
    except RequestError as error:
        raise typer.BadParameter(str(error), param_hint="--field") from None


@app.command("process")
def process_command(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package name."),
    input_path: Path = typer.Argument(
        ..., help="JSONL, text (one doc a line), CSV/TSV or Parquet; gzip accepted."
    ),
    output_path: Path = typer.Argument(..., help="Output file: .jsonl or .parquet."),
    text_field: str = typer.Option(
        process_options.DEFAULT_FIELDS.text, help="Field (column) holding the text."
    ),
    id_field: str = typer.Option(
        process_options.DEFAULT_FIELDS.id, help="Field holding the id, copied to the output."
    ),
    field: list[str] = typer.Option(
        None,
        "--field",
        help="TASK_FIELD=FIELD: read a field a task reads (e.g. text_a) from another name. "
        "Repeat for more.",
    ),
    questions_field: str = typer.Option(
        None, help="Deprecated: use --field questions=FIELD.", hidden=True
    ),
    input_format: str = typer.Option(
        None, help="jsonl, txt, csv or parquet, if the file name does not say."
    ),
    errors: Path = typer.Option(None, help="Errors file (default: OUTPUT_STEM.errors.jsonl)."),
    max_chars: int = typer.Option(
        process_options.DEFAULT_FIELDS.max_chars,
        min=0,
        help="Longest text; longer fails. 0: none.",
    ),
    batch_size: int = typer.Option(
        process_options.DEFAULT_BATCH_SIZE, min=1, help="Most documents per batch."
    ),
    batch_words: int = typer.Option(
        process_options.DEFAULT_BATCH_WORDS, min=0, help="Most words per batch. 0: no limit."
    ),
    n_process: int = typer.Option(
        process_options.DEFAULT_N_PROCESS, min=1, help="Worker processes (Ray: actors)."
    ),
    gpu_id: int = typer.Option(process_options.DEFAULT_GPU_ID, help="GPU to use; -1 for CPU."),
    threads: int = typer.Option(
        process_options.DEFAULT_THREADS, min=0, help="PyTorch threads per process. 0: shared out."
    ),
    engine: str = typer.Option(
        process_options.DEFAULT_ENGINE, help="local, or ray (Ray Data; the ray extra)."
    ),
    ray_address: str = typer.Option(None, help="Ray cluster address (default: a local Ray)."),
    include_text: bool = typer.Option(False, "--include-text", help="Copy texts to the output."),
    precision: str = typer.Option(
        None, help=precision_settings.OPTION_HELP, callback=precision_settings.option_callback
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start again, replacing output."),
    allow_errors: bool = typer.Option(
        False, "--allow-errors", help="Exit with status 0 even if some records failed."
    ),
    checkpoint_seconds: float = typer.Option(
        process_options.DEFAULT_CHECKPOINT_SECONDS, min=0, help="Seconds between checkpoints."
    ),
    progress: bool = typer.Option(
        None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."
    ),
) -> None:
    """Run a pipeline over a corpus: one JSON output record per input record, in order.

    Resumable: rerun the same command after a crash or kill and it goes on from its
    checkpoint. Bad records go to the errors file with their line and the reason.
    Exit status: 0 all done; 1 stopped by an error; 3 done, but some records failed.
    """
    from .batch.job import process_file

    if questions_field is not None:
        typer.echo(
            f"Warning: --questions-field is deprecated and goes in the next release; use "
            f"--field questions={questions_field}.",
            err=True,
        )
    try:
        summary = process_file(
            pipeline,
            input_path,
            output_path,
            errors_path=errors,
            input_format=input_format,
            text_field=text_field,
            id_field=id_field,
            fields=_field_pairs(field or []),
            questions_field=questions_field,
            max_chars=max_chars,
            batch_size=batch_size,
            batch_words=batch_words,
            n_process=n_process,
            gpu_id=gpu_id,
            threads=threads,
            include_text=include_text,
            precision=precision,
            engine=engine,
            ray_address=ray_address,
            overwrite=overwrite,
            checkpoint_seconds=checkpoint_seconds,
            progress=progress,
        )
    except KeyboardInterrupt:
        typer.echo("Interrupted. Rerun the same command to resume.", err=True)
        raise SystemExit(130) from None
    counts = (
        f"{summary.processed} processed, {summary.failed} failed, "
        f"{summary.skipped} skipped (blank lines) -> {output_path}"
    )
    if summary.already_complete:
        typer.echo(f"Already complete, nothing to do: {counts}.", err=True)
    else:
        resumed = f", resumed after line {summary.resumed_after}" if summary.resumed_after else ""
        typer.echo(
            f"{counts}{resumed}. This run: {summary.processed_now} docs in "
            f"{summary.seconds:.1f} s ({summary.docs_per_second:.1f} docs/s).",
            err=True,
        )
    if summary.warned:
        typer.echo(
            f'{summary.warned} processed record(s) carry "warnings": a head did only part '
            "of its work on them, and each warning says what to change.",
            err=True,
        )
    if summary.failed:
        typer.echo(f"Failed records, with line and reason: {summary.errors}", err=True)
        if not allow_errors:
            raise SystemExit(3)


app.command("serve")(serve_command)
# A converter's own options (--scheme iob1) pass through to it.
app.command("convert", context_settings=CONVERT_CONTEXT)(convert_command)
app.command("fetch")(fetch_command)
app.command("holdout")(holdout_command)


def main() -> None:
    """Run the command line, with the commands plugins add.

    Usage errors (an unknown command, a missing argument, a bad option value)
    print click's short usage message and exit with status 2. The project's own
    errors (``NlpTasksError``: bad data, a missing plugin, file or backbone)
    print "Error: " and their coded message and exit with status 1. Ctrl+C
    exits with status 130. None of these show a traceback; anything else is a
    bug, and does.
    """
    warnings.showwarning = _show_warning
    # SIGTERM (kill, a job scheduler's stop) unwinds like Ctrl+C, so every command's
    # clean-up runs: no temporary file is left, a `process` run stops at a record.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        plugins.call_each("register_commands", cli=app)
        _reflow_help(app)
        status = app(prog_name="nlp-tasks", standalone_mode=False)
    except ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except typer.Abort as error:
        # Older typer releases turn Ctrl+C into Abort; click uses it for EOF at a prompt.
        if isinstance(error.__context__, KeyboardInterrupt):
            _interrupted()
        typer.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        _interrupted()
    except NlpTasksError as error:
        typer.echo(f"Error: {error}", err=True)
        raise SystemExit(1) from None
    # Without standalone mode, typer returns the status of typer.Exit (and of Ctrl+C,
    # as 130, in the releases we support) instead of exiting with it.
    if isinstance(status, int) and not isinstance(status, bool) and status:
        if status == 130:
            _interrupted()
        raise SystemExit(status)


def _reflow_help(cli: typer.Typer) -> None:
    """Give each command its docstring as help, each paragraph on one line.

    Typer keeps the line breaks of a docstring's later paragraphs and rich then
    wraps them again at the terminal's width, so a docstring wrapped in the source
    shows ragged in --help. Paragraphs whose lines are indented or start with "-"
    or "\\b" keep their breaks. An explicit help= is left as it is.
    """
    for info in cli.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = _one_line_paragraphs(info.callback.__doc__)
    for group in cli.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


def _one_line_paragraphs(docstring: str) -> str:
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(
        paragraph
        if any(line.startswith((" ", "-", "\b")) for line in paragraph.splitlines())
        else " ".join(paragraph.split("\n"))
        for paragraph in paragraphs
    )


_python_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # A coded warning is for the user of the command: its text, not the source line
    # that raised it. Other warnings (a library's) keep Python's format.
    if str(message).startswith(("[W", "[E")):
        typer.echo(f"Warning: {message}", err=True)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


def _terminate(signum: int, frame: Any) -> NoReturn:
    typer.echo("Terminated.", err=True)
    raise SystemExit(128 + signum)


def _interrupted() -> NoReturn:
    typer.echo("Interrupted.", err=True)
    raise SystemExit(130)


def _fail(message: str) -> NoReturn:
    """Stop the command with a coded message: "Error: [E0xx] ...", status 1."""
    raise ClickException(message)


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _check_readable(path: Path, option: str) -> None:
    if not path.is_file():
        problem = why_not_a_file(path)
        _fail(Errors.E046.format(path=path, option=option, problem=problem))


def _check_writable(path: Path, option: str, keep: tuple[tuple[Path, str], ...] = ()) -> None:
    # keep: (file or folder, what it is) that writing `path` must not replace.
    from .batch.files import overwrites

    if path.is_dir():
        _fail(Errors.E047.format(path=path, option=option, problem="it is a directory"))
    problem = _unwritable(path)
    if problem:
        _fail(Errors.E047.format(path=path, option=option, problem=problem))
    for target, what in keep:
        if target.exists() and overwrites(path, target):
            where = "" if target.is_file() else "inside "
            problem = f"it is {where}{what} ('{target}'), which writing it would destroy"
            _fail(Errors.E047.format(path=path, option=option, problem=problem))


def _unwritable(path: Path) -> str:
    # Why the file cannot be written, found before the pipeline loads and runs
    # rather than after; "" if it can (missing folders are created when writing).
    import tempfile

    folder = next(p for p in (path.parent, *path.parent.parents) if p.exists())
    if not folder.is_dir():
        return f"the folder it would go in, '{folder}', is a file"
    try:
        if path.exists():
            with path.open("a", encoding="utf8"):
                pass
        else:
            with tempfile.TemporaryFile(dir=folder):
                pass
    except OSError as error:
        return f"it cannot be written ({_reason(error)})"
    return ""


def _read_file_records(
    path: Path,
    option: str,
    *,
    text_field: str = "text",
    fields: dict[str, str] | None = None,
    inputs: Any = (),
) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    """The records of a file given with an option, how many blank lines it has, and
    where each record is: its line, and its id if it has one.

    The file is read as ``process`` reads its input (by its ending; text, one
    document a line, if the ending says nothing), each record checked against
    the tasks' inputs. The first bad record stops the command with its coded
    message, which names the file and line.
    """
    from .batch.inputs import RecordFields, check_input, detect_format, read_records
    from .errors import InputError

    _check_readable(path, option)
    try:
        input_format = detect_format(path)
    except InputError:
        input_format = "txt"
    record_fields = RecordFields(
        text=text_field, fields=fields or {}, max_chars=0, inputs=tuple(inputs)
    )
    records: list[dict[str, Any]] = []
    places: list[dict[str, Any]] = []
    blank = 0
    try:
        check_input(path, input_format, fields=record_fields)
        for record in read_records(path, input_format=input_format, fields=record_fields):
            if record.error:
                _fail(record.error)
            texts = record.input.texts.values() if record.input else ()
            if record.skipped or not any(text.strip() for text in texts):
                blank += 1
            else:
                records.append(record.input.to_json())
                place = {"line": record.line}
                if record.has_id:
                    place["id"] = record.id
                places.append(place)
    except OSError as error:
        _fail(Errors.E046.format(path=path, option=option, problem=_reason(error)))
    return records, blank, places
