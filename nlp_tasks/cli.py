"""The ``nlp-tasks`` command line."""

import json
import sys
from pathlib import Path

import click
import typer

from . import plugins

app = typer.Typer(
    help="Multi-task spaCy pipelines on one shared transformer.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
init_app = typer.Typer(help="Create configs.", no_args_is_help=True)
app.add_typer(init_app, name="init")


@app.command("plugins")
def plugins_command(
    all_plugins: bool = typer.Option(False, "--all", help="Include the core's built-in plugins."),
    hook: str = typer.Option(None, help="Only plugins implementing this hook."),
) -> None:
    """List discovered plugins as JSON: distribution, version, tasks, factories, status."""
    infos = plugins.plugin_infos(all_plugins=all_plugins)
    if hook:
        infos = [info for info in infos if hook in info.hooks]
    typer.echo(json.dumps([info.to_dict() for info in infos], indent=2))


@init_app.command("config")
def init_config_command(
    output: Path = typer.Argument(..., help="Where to write the config ('-' for stdout)."),
    tasks: str = typer.Option(..., help="Comma-separated task names, e.g. sentiment,ner."),
    backbone: str = typer.Option(None, help="Backbone alias, local model directory or Hub name."),
    lang: str = typer.Option("en", help="spaCy language code."),
    gpu: bool = typer.Option(False, "--gpu", help="Configure for GPU training."),
    max_steps: int = typer.Option(2000, help="Training steps."),
    eval_frequency: int = typer.Option(200, help="Steps between evaluations."),
    learn_rate: float = typer.Option(5e-5, help="Peak learning rate."),
    backbone_learn_rate_scale: float = typer.Option(
        1.0, help="The backbone's learning rate as a fraction of the heads'."
    ),
) -> None:
    """Write a complete training config: shared transformer + one head per task."""
    from .backbones import resolve_backbone
    from .config import make_config
    from .default_backbones import DEFAULT_BACKBONE

    backbone = backbone or DEFAULT_BACKBONE
    resolve_backbone(backbone)
    names = [name.strip() for name in tasks.split(",") if name.strip()]
    config = make_config(
        names,
        backbone=backbone,
        lang=lang,
        gpu=gpu,
        max_steps=max_steps,
        eval_frequency=eval_frequency,
        learn_rate=learn_rate,
        backbone_learn_rate_scale=backbone_learn_rate_scale,
    )
    if str(output) == "-":
        sys.stdout.write(config.to_str())
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(output)
    typer.echo(f"Wrote {output} (tasks: {', '.join(names)}; backbone: {backbone})")


@app.command("new-plugin")
def new_plugin_command(
    name: str = typer.Argument(..., help="Task name, e.g. keyphrases."),
    directory: Path = typer.Option(Path("."), help="Where to create nlp-tasks-NAME/."),
    description: str = typer.Option("", help="One line for the package metadata."),
) -> None:
    """Scaffold a ready-to-publish task plugin distribution."""
    from .scaffold import new_plugin

    target = new_plugin(name, directory, description=description)
    typer.echo(f"Wrote {target}. Next: pip install -e {target} && nlp-tasks plugins")


@app.command("add-task")
def add_task_command(
    pipeline: str = typer.Argument(..., help="Trained pipeline directory or package name."),
    task: str = typer.Argument(..., help="The task to add, from an installed plugin."),
    train: Path = typer.Option(..., help="JSONL training records of the new task."),
    dev: Path = typer.Option(..., help="JSONL dev records of the new task."),
    output: Path = typer.Option(..., help="Directory for the run and the extended pipeline."),
    max_steps: int = typer.Option(1000, help="Training steps."),
    eval_frequency: int = typer.Option(200, help="Steps between evaluations."),
    learn_rate: float = typer.Option(5e-4, help="Peak learning rate of the new head."),
    check_file: Path = typer.Option(
        None, help="Texts (one per line) to compare the existing heads on; default: dev texts."
    ),
    gpu_id: int = typer.Option(-1, help="GPU to train on; -1 for CPU."),
) -> None:
    """Train a new head onto a trained pipeline; the existing heads stay as they are."""
    from .extend import add_task

    check_texts = None
    if check_file is not None:
        lines = check_file.read_text(encoding="utf8").splitlines()
        check_texts = [line for line in lines if line.strip()]
    result = add_task(
        pipeline,
        task,
        train=train,
        dev=dev,
        output=output,
        max_steps=max_steps,
        eval_frequency=eval_frequency,
        learn_rate=learn_rate,
        check_texts=check_texts,
        gpu_id=gpu_id,
    )
    unchanged = ", ".join(result.unchanged) or "none"
    typer.echo(
        f"Wrote {result.model_path}. Existing heads ({unchanged}) give identical outputs "
        f"on {result.checked_texts} texts."
    )


@app.command("evaluate")
def evaluate_command(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package name."),
    data: Path = typer.Option(None, help="Directory with <task>/dev.jsonl for each task."),
    source: list[str] = typer.Option(None, help="TASK=PATH of a JSONL file (repeatable)."),
    output: Path = typer.Option(None, help="Write all scores to this JSON file."),
    batch_size: int = typer.Option(64, help="Docs per batch."),
) -> None:
    """Score every head of a pipeline on per-task JSONL data and print a table."""
    from .evaluate import evaluate, format_table
    from .pipeline import load, pipeline_tasks

    nlp = load(pipeline)
    sources = _sources(pipeline_tasks(nlp), data, source or [])
    result = evaluate(nlp, sources, batch_size=batch_size)
    typer.echo(format_table(result))
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2, default=str), encoding="utf8")


def _sources(tasks: dict, data: Path | None, pairs: list[str]) -> dict[str, Path]:
    sources: dict[str, Path] = {}
    if data is not None:
        for task in tasks.values():
            if (data / task.name / "dev.jsonl").exists():
                sources[task.name] = data / task.name / "dev.jsonl"
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected TASK=PATH, got {pair!r}", param_hint="--source")
        sources[name.strip()] = Path(path)
    if not sources:
        raise typer.BadParameter("give --data DIR or --source TASK=PATH")
    return sources


@app.command("predict")
def predict_command(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package name."),
    texts: list[str] = typer.Argument(None, help="Texts to process."),
    file: Path = typer.Option(
        None,
        help="A text file, one document per line; or a .jsonl file of records with a "
        "'text' and optionally 'questions' (a list of questions to ask of it).",
    ),
) -> None:
    """Run a pipeline on a few texts and print each head's output as JSON lines."""
    from .pipeline import load, predict
    from .readers import read_jsonl

    items: list = [text for text in texts or [] if text]
    if file is not None and file.suffix == ".jsonl":
        items += [record for _, record in read_jsonl(file)]
    elif file is not None:
        lines = file.read_text(encoding="utf8").splitlines()
        items += [line.strip() for line in lines if line.strip()]
    nlp = load(pipeline)
    for record in predict(nlp, items):
        typer.echo(json.dumps(record, ensure_ascii=False))


@app.command("process")
def process_command(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package name."),
    input_path: Path = typer.Argument(
        ..., help="JSONL, text (one doc a line), CSV/TSV or Parquet; gzip accepted."
    ),
    output_path: Path = typer.Argument(..., help="Output file: .jsonl or .parquet."),
    text_field: str = typer.Option("text", help="Field (column) holding the text."),
    id_field: str = typer.Option("id", help="Field holding the id, copied to the output."),
    questions_field: str = typer.Option("questions", help="Field holding questions for QA."),
    input_format: str = typer.Option(
        None, help="jsonl, txt, csv or parquet, if the file name does not say."
    ),
    errors: Path = typer.Option(None, help="Errors file (default: OUTPUT_STEM.errors.jsonl)."),
    max_chars: int = typer.Option(100_000, min=0, help="Longest text; longer fails. 0: none."),
    batch_size: int = typer.Option(64, min=1, help="Most documents per batch."),
    batch_words: int = typer.Option(16_384, min=0, help="Most words per batch. 0: no limit."),
    n_process: int = typer.Option(1, min=1, help="Worker processes (Ray: actors)."),
    gpu_id: int = typer.Option(-1, help="GPU to use; -1 for CPU."),
    threads: int = typer.Option(0, min=0, help="PyTorch threads per process. 0: shared out."),
    engine: str = typer.Option("local", help="local, or ray (Ray Data; the ray extra)."),
    ray_address: str = typer.Option(None, help="Ray cluster address (default: a local Ray)."),
    include_text: bool = typer.Option(False, "--include-text", help="Copy texts to the output."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start again, replacing output."),
    allow_errors: bool = typer.Option(
        False, "--allow-errors", help="Exit with status 0 even if some records failed."
    ),
    checkpoint_seconds: float = typer.Option(10.0, min=0, help="Seconds between checkpoints."),
    progress: bool = typer.Option(
        None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."
    ),
) -> None:
    """Run a pipeline over a corpus: one JSON output record per input record, in order.

    Resumable: rerun the same command after a crash or kill and it goes on from its
    checkpoint. Bad records go to the errors file with their line and the reason.
    Exit status: 0 all done; 1 stopped by an error; 3 done, but some records failed.
    """
    from .outputs import OutputError
    from .process import OptionError, ProcessError, process_file
    from .records import InputError

    try:
        summary = process_file(
            pipeline,
            input_path,
            output_path,
            errors_path=errors,
            input_format=input_format,
            text_field=text_field,
            id_field=id_field,
            questions_field=questions_field,
            max_chars=max_chars,
            batch_size=batch_size,
            batch_words=batch_words,
            n_process=n_process,
            gpu_id=gpu_id,
            threads=threads,
            include_text=include_text,
            engine=engine,
            ray_address=ray_address,
            overwrite=overwrite,
            checkpoint_seconds=checkpoint_seconds,
            progress=progress,
        )
    except (InputError, OptionError, ProcessError, OutputError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise SystemExit(1) from None
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
    if summary.failed:
        typer.echo(f"Failed records, with line and reason: {summary.errors}", err=True)
        if not allow_errors:
            raise SystemExit(3)


def main() -> None:
    """Run the command line, with the commands plugins add.

    The project's own errors (bad data, a missing plugin or backbone) print
    their coded message and exit with status 1, without a traceback.
    """
    from .backbones import BackboneError
    from .extend import PipelineChangedError
    from .pipeline import PipelineNotFoundError
    from .readers import DataError
    from .scaffold import ScaffoldError

    plugins.call_each("register_commands", cli=app)
    try:
        app(standalone_mode=False)
    except (
        plugins.PluginError,
        DataError,
        BackboneError,
        PipelineNotFoundError,
        ScaffoldError,
        PipelineChangedError,
    ) as error:
        typer.echo(f"Error: {error}", err=True)
        raise SystemExit(1) from None
    except click.exceptions.Abort:
        raise SystemExit(1) from None
    except click.exceptions.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
