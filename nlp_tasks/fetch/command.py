"""The ``nlp-tasks fetch`` and ``nlp-tasks holdout`` commands.

Import only typer and the standard library until they run, so ``nlp-tasks
--help`` stays cheap.
"""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer


def fetch_command(
    url: str = typer.Argument(..., help="The file's http:// or https:// URL."),
    output: Path = typer.Argument(..., help="Where to write the file."),
    md5: str = typer.Option(
        None, "--md5", metavar="HEX", help="The file's MD5 checksum, as its source publishes it."
    ),
    sha256: str = typer.Option(None, "--sha256", metavar="HEX", help="Its SHA-256 checksum."),
    force: bool = typer.Option(False, "--force", help="Download again even if OUTPUT is there."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Download a file, resuming an interrupted download and verifying its checksum.

    The bytes go to OUTPUT.partial, renamed to OUTPUT once complete and verified.
    A wrong checksum deletes them and fails. A download that stops midway keeps
    them, and OUTPUT.partial.json records its URL and the file's ETag or date: the
    same command continues it (an HTTP Range request, if the file is unchanged), or
    starts over where the file changed or the server cannot send a part. A partial
    file of another URL, or without its record, is deleted and the download starts
    over. An OUTPUT with the given checksum (or, given none, any OUTPUT) is not
    fetched again. An empty --md5 or --sha256 checks nothing.
    """
    from .download import fetch

    with _download_bar(url, enabled=not quiet and sys.stderr.isatty()) as progress:
        result = fetch(url, output, md5=md5, sha256=sha256, force=force, progress=progress)
    if not quiet:
        typer.echo(result.summary(), err=True)


def holdout_command(
    input: Path = typer.Argument(..., help="JSONL records, e.g. a converter's output."),
    train: Path = typer.Option(..., "--train", help="Where to write the records kept."),
    dev: Path = typer.Option(..., "--dev", help="Where to write the held-out records."),
    size: int = typer.Option(..., "--size", min=1, help="How many records go to dev."),
    seed: int = typer.Option(0, "--seed", help="Seeds the draw: one seed, one split."),
    nested: str = typer.Option(
        None,
        "--nested",
        metavar="FIELD",
        help="A text field whose words may occur inside another record's (SST-2's "
        "phrases): dev takes only records inside no other, and train loses every record "
        "inside a dev record.",
    ),
    min_words: int = typer.Option(
        None, "--min-words", min=1, help="With --nested: dev takes texts of this many words up."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Hold out a dev split from a corpus whose source publishes only a training file.

    SIZE records drawn at random (with --seed: the same split every time) go to
    --dev, the rest to --train; both keep the input's lines and order, and are
    written whole or not at all.
    """
    from .holdout import hold_out

    result = hold_out(input, train, dev, size=size, seed=seed, nested=nested, min_words=min_words)
    if not quiet:
        typer.echo(result.summary(), err=True)


@contextmanager
def _download_bar(url: str, *, enabled: bool) -> Iterator[Callable[[int, int | None], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    name = url.rstrip("/").rpartition("/")[2] or url
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Fetching {name}", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
