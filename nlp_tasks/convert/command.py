"""The ``nlp-tasks convert`` command.

Imports neither spaCy nor torch until it runs (the plugins it then loads may).
A converter's options come from its ``Converter`` description, so a converter a
third-party plugin registers gets ``--its-option`` like the built-in ones. Register
the command with ``CONTEXT_SETTINGS``, which lets those options through to it; with
plain settings, ``-O NAME=VALUE`` still gives any option.
"""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from ..errors import ConvertError, Errors
from .converter import Converter
from .mapping import split_pair

#: Click settings that let a converter's own options reach ``convert_command``.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def convert_command(
    ctx: typer.Context,
    converter: str = typer.Argument(
        None, metavar="FORMAT", help="The converter, e.g. conll, squad, columns (see --list)."
    ),
    inputs: list[str] = typer.Argument(
        None,
        metavar="INPUT",
        help="The input file(s), followed by the converter's options (--scheme iob1, ...).",
    ),
    output: Path = typer.Option(None, "--output", "-o", help="The JSONL file to write."),
    option: list[str] = typer.Option(
        None,
        "--option",
        "-O",
        help="NAME=VALUE: an option of the converter, as --NAME VALUE gives it (repeatable).",
    ),
    list_converters: bool = typer.Option(
        False, "--list", help="List the converters (or FORMAT's), their tasks and options."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Convert data in another format (CoNLL, SQuAD, CSV, ...) into a task's JSONL records.

    Each converter writes one task's record format. `nlp-tasks convert --list` shows
    the converters and their options. The output is written whole or not at all.
    """
    from .run import convert, get_converter

    if list_converters:
        typer.echo(list_text(converter))
        return
    if not converter:
        raise typer.BadParameter(
            f"give the converter to run, one of: {_available()} (see --list).",
            param_hint="FORMAT",
        )
    found = get_converter(converter)
    paths, options = parse_arguments(found, [*(inputs or ()), *ctx.args], option or [])
    if output is None:
        raise ConvertError(
            Errors.E103.format(
                converter=found.name,
                expected="--output OUTPUT as well as its inputs",
                usage=found.inputs,
                count=len(paths),
                inputs=", ".join(paths) or "none",
            )
        )
    with _progress(found.name, enabled=not quiet and sys.stderr.isatty()) as progress:
        result = convert(found, paths, output, progress=progress, **options)
    if not quiet:
        typer.echo(result.summary(), err=True)


def parse_arguments(
    converter: Converter, tokens: list[str], pairs: list[str]
) -> tuple[list[str], dict[str, Any]]:
    """Split the command's arguments into inputs and the converter's options.

    converter (Converter): The converter whose options are allowed.
    tokens (list[str]): The arguments after FORMAT: inputs, ``--name value``,
        ``--name=value`` and ``--flag``, in any order.
    pairs (list[str]): The ``-O NAME=VALUE`` options.
    RETURNS (tuple[list[str], dict[str, Any]]): The inputs, and the options by
        name (a list for a repeatable option).
    """
    paths: list[str] = []
    options: dict[str, Any] = {}
    given = [split_pair(p, "--option", "NAME=VALUE", "scheme=iob1") for p in pairs]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("--") or token == "--":
            paths.append(token)
            continue
        name, sep, value = token[2:].partition("=")
        found = converter.option(name)
        if found.kind == "flag":
            value = value if sep else "true"
        elif not sep:
            if index >= len(tokens):
                raise ConvertError(
                    Errors.E101.format(
                        converter=converter.name,
                        option=found.name,
                        problem=f"needs a value ({found.usage()})",
                        value=None,
                    )
                )
            value = tokens[index]
            index += 1
        given.append((name, value))
    for name, value in given:
        found = converter.option(name)
        if found.kind == "list":
            options.setdefault(found.key, []).append(value)
        else:
            options[found.key] = value
    return paths, options


def list_text(name: str | None = None) -> str:
    """The converters, their tasks and options, as ``--list`` prints them.

    name (str | None): Only this converter.
    RETURNS (str): The listing.
    """
    from ..registry.manager import converter_registry
    from .run import get_converter

    registry = converter_registry()
    if name:
        converters = [get_converter(name)]
    else:
        converters = [registry.converters[n] for n in sorted(registry.converters)]
    blocks = [_describe(c, registry.owners.get(c.name, "?")) for c in converters]
    if not name:
        for conflict, (first, second) in sorted(registry.conflicts.items()):
            blocks.append(
                f"{conflict}: unusable, provided by two plugins ({first}, {second}); see "
                f"`nlp-tasks convert {conflict}`"
            )
    return "\n\n".join(blocks) if blocks else "No converters installed."


def _describe(converter: Converter, plugin: str) -> str:
    task = converter.task or "any (the fields --map names)"
    lines = [
        f"{converter.name}  task: {task}  plugin: {plugin}",
        f"  {converter.description}",
        f"  nlp-tasks convert {converter.name} {converter.inputs} --output OUTPUT [OPTIONS]",
    ]
    for option in converter.options:
        default = ""
        if option.kind == "value" and option.default not in (None, ""):
            shown = option.default
            if isinstance(shown, str) and (not shown.isprintable() or shown != shown.strip()):
                shown = repr(shown)  # a tab or a space would print as nothing
            default = f" Default: {shown}."
        lines.append(f"    {option.usage()}")
        lines.append(f"        {option.help}{default}")
    return "\n".join(lines)


def _available() -> str:
    from ..registry.manager import get_converters

    return ", ".join(sorted(get_converters())) or "none"


@contextmanager
def _progress(name: str, *, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}: {task.completed:,} records"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Converting ({name})", total=None)
        yield lambda count: bar.update(task, completed=count)
