"""The ``nlp-tasks serve`` command.

Imports neither spaCy, torch, Starlette nor uvicorn until it runs, so
``nlp-tasks --help`` stays cheap.
"""

import asyncio
import ipaddress
import os
import sys
from typing import TYPE_CHECKING, Any

import typer

from .. import precision as precision_settings

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

#: Seconds the batch running when the service is told to stop (Ctrl+C, SIGTERM)
#: has to finish and answer its requests; after that they get a 503 (E095).
STOP_GRACE_SECONDS = 5.0


def serve_command(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package name."),
    host: str = typer.Option(
        "127.0.0.1",
        help="Address to listen on. The default takes requests from this machine only. "
        "0.0.0.0 (every interface) lets anyone who can reach the machine use the service, "
        "which has no authentication: choose it on purpose, behind a firewall or proxy.",
    ),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    max_batch_size: int = typer.Option(
        32,
        min=1,
        help="Most records in one pipeline batch; concurrent requests share batches, and "
        "a larger request is split across them.",
    ),
    max_wait_ms: float = typer.Option(
        5.0,
        min=0.0,
        help="How long (ms) the first record of a batch waits for others to join it. "
        "Higher: larger batches under load; lower: less latency for a lone request.",
    ),
    max_records: int = typer.Option(
        256, min=1, help="Most records in one request (more: status 413)."
    ),
    max_chars: int = typer.Option(
        100_000,
        min=1,
        help="Most characters in one field of a record; a list field (questions) counts "
        "its strings together (more: status 413).",
    ),
    max_body_bytes: int = typer.Option(
        10_000_000, min=1, help="Largest request body, in bytes (more: status 413)."
    ),
    max_list_items: int = typer.Option(
        64,
        min=1,
        help="Most strings in a list field of one record, such as questions; each may "
        "cost a pass of a head (more: status 413).",
    ),
    field: list[str] = typer.Option(
        None,
        "--field",
        help="TASK_FIELD=FIELD: read a task's field from another name in every request "
        "(a request's field=TASK_FIELD=FIELD parameters add to these).",
    ),
    precision: str = typer.Option(
        None, help=precision_settings.OPTION_HELP, callback=precision_settings.option_callback
    ),
) -> None:
    """Serve a pipeline over HTTP: POST /predict, a form at /, GET /health and /tasks.

    POST /predict takes a JSON record, a JSON string (one text) or a list of
    them, and answers what `predict` gives as JSON. Concurrent requests are
    batched together (--max-batch-size, --max-wait-ms). Stop with Ctrl+C.
    """
    from ..errors import RequestError
    from .limits import ServeSettings, field_pairs

    try:
        fields = field_pairs(field or [])
    except RequestError as error:
        raise typer.BadParameter(str(error), param_hint="--field") from None
    settings = ServeSettings(
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        max_records=max_records,
        max_chars=max_chars,
        max_body_bytes=max_body_bytes,
        max_list_items=max_list_items,
        fields=fields,
        name=pipeline,
    )
    _check_can_listen(host, port)
    from ..inference import load
    from .app import make_app

    app = make_app(load(pipeline, precision=precision), settings)
    if not _is_loopback(host):
        typer.echo(
            f"Warning: listening on {host}, not loopback: anyone who can reach this machine "
            "can use the service, which has no authentication.",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"Serving {pipeline} at http://{shown}:{port}/ (Ctrl+C to stop).", err=True)
    run_app(app, host, port)


def run_app(app: "Starlette", host: str, port: int) -> None:
    """Serve an app from ``make_app`` with uvicorn until Ctrl+C or SIGTERM.

    On a signal, requests still queued get a 503 (E095) at once and the batch
    running has ``STOP_GRACE_SECONDS`` to answer its requests; a second Ctrl+C
    stops without waiting. uvicorn alone would wait for every request in
    progress, however long its batch runs.

    app (Starlette): The app, from ``make_app``.
    host (str): The address to listen on.
    port (int): The port to listen on.
    """
    batcher = app.state.batcher
    try:
        make_server(app, host, port).run()
    except SystemExit as stop:
        # SystemExit(None) is a clean exit; a message in place of a status is 1.
        code = 0 if stop.code is None else stop.code
        _exit_if_batch_left(batcher, code if isinstance(code, int) else 1)
        raise
    except KeyboardInterrupt:
        _exit_if_batch_left(batcher, 130, "Interrupted.")
        raise
    _exit_if_batch_left(batcher, 0)


def _exit_if_batch_left(batcher: Any, status: int, message: str = "") -> None:
    # The batch left running is inside torch on a daemon thread: letting the
    # interpreter finalize under it aborts the process ("terminate called without
    # an active exception", status 134). Nothing else is left to clean up.
    if not batcher.batch_left_running:
        return
    if message:
        typer.echo(message, err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def make_server(app: "Starlette", host: str, port: int) -> "uvicorn.Server":
    """The uvicorn server that ``run_app`` runs: see there.

    app (Starlette): The app, from ``make_app``.
    host (str): The address to listen on.
    port (int): The port to listen on.
    RETURNS (uvicorn.Server): The server, not started.
    """
    import uvicorn

    batcher = app.state.batcher

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list | None = None) -> None:
            stopping = asyncio.ensure_future(batcher.stop(STOP_GRACE_SECONDS))
            while not stopping.done():
                if self.force_exit:
                    stopping.cancel()
                await asyncio.wait({stopping}, timeout=0.1)
            await super().shutdown(sockets)

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=int(STOP_GRACE_SECONDS) + 1,
    )
    return Server(config)


def _check_can_listen(host: str, port: int) -> None:
    # Before the pipeline loads (seconds to minutes), so a port in use fails at once.
    import errno
    import socket

    from ..errors import Errors, OptionError

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except OSError as error:
        raise OptionError(Errors.E144.format(host=host, error=error)) from None
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRNOTAVAIL:
            raise OptionError(Errors.E144.format(host=host, error=error)) from None
        raise OptionError(Errors.E133.format(host=host, port=port, error=error)) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
