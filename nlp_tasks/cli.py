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
    )
    if str(output) == "-":
        sys.stdout.write(config.to_str())
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(output)
    typer.echo(f"Wrote {output} (tasks: {', '.join(names)}; backbone: {backbone})")


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
    file: Path = typer.Option(None, help="A text file, one document per line."),
) -> None:
    """Run a pipeline on a few texts and print each head's output as JSON lines."""
    from .pipeline import load, predict

    all_texts = list(texts or [])
    if file is not None:
        all_texts += [line.strip() for line in file.read_text(encoding="utf8").splitlines()]
    nlp = load(pipeline)
    for record in predict(nlp, [text for text in all_texts if text]):
        typer.echo(json.dumps(record, ensure_ascii=False))


def main() -> None:
    """Run the command line, with the commands plugins add.

    The project's own errors (bad data, a missing plugin or backbone) print
    their coded message and exit with status 1, without a traceback.
    """
    from .backbones import BackboneError
    from .pipeline import PipelineNotFoundError
    from .readers import DataError

    plugins.call_each("register_commands", cli=app)
    try:
        app(standalone_mode=False)
    except (plugins.PluginError, DataError, BackboneError, PipelineNotFoundError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise SystemExit(1) from None
    except click.exceptions.Abort:
        raise SystemExit(1) from None
    except click.exceptions.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
