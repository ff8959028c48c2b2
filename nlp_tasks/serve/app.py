"""The HTTP service of a pipeline: a Starlette app around one loaded pipeline."""

import asyncio
import html
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import ConfigError, Errors, PredictInputError, RequestError
from ..inference import check_item, doc_to_json, output_tasks
from ..registry import manager as plugins
from ..task_inputs import CheckedInput, PipelineInputs, text_list
from .batcher import Batcher
from .limits import (
    BAD_REQUEST,
    UNPROCESSABLE,
    ServeSettings,
    check_body_size,
    check_lengths,
    check_list_items,
    check_record_count,
    field_pairs,
)

if TYPE_CHECKING:
    from spacy.language import Language

    from ..task import Task

logger = logging.getLogger("nlp_tasks.serve")
T = TypeVar("T")

#: The routes, as a 404 lists them.
ROUTES = ("GET /", "POST /", "GET /health", "GET /tasks", "POST /predict")
#: The status of a request the pipeline failed on.
FAILED = 500
_CODE = re.compile(r"^\[([A-Z]+\d+)\]")


def make_app(nlp: "Language", settings: ServeSettings | None = None) -> Starlette:
    """The service of a loaded pipeline.

    ``POST /predict`` answers what ``nlp_tasks.predict`` returns for the same
    records; ``GET /`` is a form to try the pipeline in a browser; ``GET
    /health`` and ``GET /tasks`` describe the service. Concurrent requests
    share ``nlp.pipe`` batches (``Batcher``); the worker that runs them starts
    and stops with the app's lifespan, so use the app as uvicorn does, or
    within ``with TestClient(app)``.

    nlp (Language): The pipeline, from ``nlp_tasks.load``.
    settings (ServeSettings | None): Batching and bounds; the defaults if None.
    RETURNS (Starlette): The app. Raises ``ConfigError`` (E083) if
        ``settings.fields`` names a field no task reads.
    """
    from ..components.routing import route_docs

    service = _Service(route_docs(nlp), settings or ServeSettings())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.batcher.start()
        try:
            yield
        finally:
            await service.batcher.stop()

    app = Starlette(
        routes=[
            Route("/", service.page, methods=["GET"]),
            Route("/", service.form, methods=["POST"]),
            Route("/health", service.health, methods=["GET"]),
            Route("/tasks", service.tasks_info, methods=["GET"]),
            Route("/predict", service.predict, methods=["POST"]),
        ],
        exception_handlers={
            RequestError: _request_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    # Starlette answers "/predict/" with an empty 307, which curl and httpx do not follow
    # for a POST: a JSON 404 that lists the routes says what is wrong.
    app.router.redirect_slashes = False
    app.state.batcher = service.batcher
    return app


@dataclass(frozen=True)
class _FormField:
    name: str
    legend: str
    rows: int
    lines: bool
    hint: str


class _Service:
    """The pipeline, what its tasks read, and the handlers of the routes."""

    def __init__(self, nlp: "Language", settings: ServeSettings) -> None:
        self.nlp = nlp
        self.settings = settings
        self.tasks: dict[str, Task] = output_tasks(nlp)
        self.declared = [task.inputs for task in self.tasks.values()]
        self.inputs = PipelineInputs(self.declared, settings.fields)
        # The form names the tasks' own fields, whatever --field renames.
        self.form_inputs = PipelineInputs(self.declared)
        self.name = settings.name or f"{nlp.meta.get('lang', '')}_{nlp.meta.get('name', '')}"
        self.batcher = Batcher(
            self._process,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
        )
        self.form_fields = _form_fields(self.form_inputs, self.tasks)
        self.task_list = [_task_info(name, task) for name, task in self.tasks.items()]

    def _process(self, items: list[CheckedInput]) -> list[dict[str, Any]]:
        # Runs on the batcher's thread: the docs are made there too, since the
        # tokenizer and the vocab are the pipeline's and not thread-safe.
        docs = [self.inputs.make_doc(self.nlp, checked) for checked in items]
        processed = self.nlp.pipe(docs, batch_size=max(len(docs), 1))
        return [
            {**checked.to_json(), **doc_to_json(doc, self.tasks)}
            for checked, doc in zip(items, processed)
        ]

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "pipeline": self.name,
                "batches": self.batcher.batches,
                "records": self.batcher.items,
                "queued": self.batcher.queued,
            }
        )

    async def tasks_info(self, request: Request) -> Response:
        return JSONResponse(self.task_list)

    async def predict(self, request: Request) -> Response:
        inputs = self._request_inputs(request.query_params.getlist("field"))
        body = await _read_body(request, self.settings.max_body_bytes)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:
            problem = f"{type(error).__name__}: {_clip(str(error))}"
            raise RequestError(Errors.E087.format(error=problem), BAD_REQUEST) from None
        single = not isinstance(data, list)
        items = [data] if single else data
        check_record_count(len(items), self.settings.max_records)
        checked = [self._check(inputs, item, index, "/predict") for index, item in enumerate(items)]
        records = await unless_gone(request, self._run(checked))
        return JSONResponse(records[0] if single else records)

    async def page(self, request: Request) -> Response:
        return HTMLResponse(self._render({}))

    async def form(self, request: Request) -> Response:
        body = await _read_body(request, self.settings.max_body_bytes)
        submitted = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        values = {field.name: submitted.get(field.name, [""])[0] for field in self.form_fields}
        try:
            record = self._form_record(values)
            checked = [self._check(self.form_inputs, record, 0, "/")]
            records = await unless_gone(request, self._run(checked))
        except RequestError as error:
            return HTMLResponse(self._render(values, error=str(error)), error.status)
        from ..views import render_html

        result = render_html(records, self.tasks, page=False)
        return HTMLResponse(self._render(values, result=result))

    def _request_inputs(self, pairs: list[str]) -> PipelineInputs:
        if not pairs:
            return self.inputs
        fields = {**self.settings.fields, **field_pairs(pairs, option="the field= parameter")}
        try:
            return PipelineInputs(self.declared, fields)
        except ConfigError as error:
            raise RequestError(str(error), UNPROCESSABLE) from None

    def _check(self, inputs: PipelineInputs, item: Any, index: int, path: str) -> CheckedInput:
        try:
            checked = check_item(inputs, item, index)
        except PredictInputError as error:
            raise RequestError(str(error), UNPROCESSABLE) from None
        for name, text in checked.texts.items():
            if not text.strip():
                message = Errors.E122.format(path=path, index=index, field=inputs.source(name))
                raise RequestError(message, UNPROCESSABLE)
        values = {**checked.texts, **checked.extras}
        named = {inputs.source(name): value for name, value in values.items()}
        check_lengths(named, self.settings.max_chars, index, path)
        check_list_items(named, self.settings.max_list_items, index, path)
        return checked

    async def _run(self, checked: list[CheckedInput]) -> list[dict[str, Any]]:
        if not checked:
            return []
        try:
            return await self.batcher.submit(checked)
        except RequestError:
            raise
        except Exception as error:  # noqa: BLE001 - the pipeline's failure, logged by the batcher
            problem = f"{type(error).__name__}: {_clip(str(error))}"
            raise RequestError(Errors.E092.format(error=problem), FAILED) from None

    def _form_record(self, values: Mapping[str, str]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for field in self.form_fields:
            value = values.get(field.name, "")
            if not value.strip():
                continue
            if field.lines:
                record[field.name] = [line.strip() for line in value.splitlines() if line.strip()]
            else:
                record[field.name] = value
        if not any(name in record for shape in self.form_inputs.shapes for name in shape):
            names = " or ".join(
                " and ".join(repr(name) for name in shape) for shape in self.form_inputs.shapes
            )
            raise RequestError(Errors.E096.format(fields=names), UNPROCESSABLE)
        return record

    def _render(self, values: Mapping[str, str], *, result: str = "", error: str = "") -> str:
        from ..views import STYLE

        title = html.escape(f"nlp-tasks: {self.name}")
        groups: dict[str, list[_FormField]] = {}
        for field in self.form_fields:
            groups.setdefault(field.legend, []).append(field)
        fieldsets = []
        for legend, fields in groups.items():
            rows = []
            for field in fields:
                name = html.escape(field.name)
                hint = f" <small>{html.escape(field.hint)}</small>" if field.hint else ""
                value = html.escape(values.get(field.name, ""))
                rows.append(
                    f'<label for="f-{name}">{name}{hint}</label>\n'
                    f'<textarea id="f-{name}" name="{name}" rows="{field.rows}">\n'
                    f"{value}</textarea>"
                )
            fieldsets.append(
                f"<fieldset><legend>{html.escape(legend)}</legend>\n"
                + "\n".join(rows)
                + "\n</fieldset>"
            )
        shapes = [" + ".join(shape) for shape in self.form_inputs.shapes]
        guide = (
            f"<p>Fill in one of: {html.escape(', or '.join(shapes))}.</p>\n"
            if len(shapes) > 1
            else ""
        )
        notice = f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
        output = f'<section class="result">\n{result}\n</section>\n' if result else ""
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{STYLE}{_FORM_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{title}</h1>\n{guide}"
            '<form method="post" action="/">\n'
            + "\n".join(fieldsets)
            + '\n<button type="submit">Run</button>\n</form>\n'
            + notice
            + output
            + "</body>\n</html>\n"
        )


_FORM_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
fieldset { border: 1px solid #ccc; margin: 0 0 1rem; padding: 0.5rem 1rem 1rem; }
label { display: block; margin-top: 0.5rem; font-weight: 600; }
label small { font-weight: normal; color: #555; }
textarea { width: 100%; box-sizing: border-box; font: inherit; }
button { font: inherit; padding: 0.3rem 1.2rem; }
.error { color: #a00; white-space: pre-wrap; }
.result { margin-top: 1.5rem; }
"""


def _form_fields(inputs: PipelineInputs, tasks: Mapping[str, "Task"]) -> list[_FormField]:
    readers: dict[str, list[str]] = {}
    for component, task in tasks.items():
        for name in task.inputs.fields:
            readers.setdefault(name, []).append(component)
    fields: list[_FormField] = []
    seen: set[str] = set()
    for shape in inputs.shapes:
        legend = shape[0] if len(shape) == 1 else " + ".join(shape)
        for name in shape:
            if name not in seen:
                seen.add(name)
                hint = f"read by {', '.join(readers.get(name, []))}"
                fields.append(_FormField(name, legend, 6 if len(shape) == 1 else 3, False, hint))
    for name, extra in inputs.extras.items():
        lines = extra.parse is text_list
        hint = ("one per line; " if lines else "") + f"read by {', '.join(readers.get(name, []))}"
        fields.append(_FormField(name, "extra fields (optional)", 3, lines, hint))
    return fields


def _task_info(component: str, task: "Task") -> dict[str, Any]:
    plugin = plugins.factory_plugin(task.factory)
    return {
        "component": component,
        "task": task.name,
        "factory": task.factory,
        "description": task.description,
        "segments": list(task.inputs.segments),
        "extras": [extra.name for extra in task.inputs.extras],
        "plugin": plugin.name if plugin is not None else None,
        "version": plugin.version if plugin is not None else None,
    }


async def _read_body(request: Request, limit: int) -> bytes:
    method, path = request.method, request.url.path
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        check_body_size(int(declared), limit, method, path)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            check_body_size(size, limit, method, path, at_least=True)
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Gone("", BAD_REQUEST) from None
    return b"".join(chunks)


class _Gone(RequestError):
    """The client went away before its answer: there is no one to answer."""


async def unless_gone(request: Request, work: Awaitable[T]) -> T:
    """Await a request's work, or cancel it if the client disconnects first.

    The server does not cancel a handler whose client has gone; without this, the
    records of abandoned requests would stay queued and keep the requests of the
    clients still waiting behind them.

    request (Request): The request, its body already read.
    work (Awaitable[T]): What answers it, e.g. ``Batcher.submit``.
    RETURNS (T): The work's result. Raises ``_Gone`` if the client left first.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and watcher.done() and watcher.exception() is None:
            task.cancel()
            await asyncio.wait({task})  # its cleanup drops the request's queued records
            raise _Gone("", BAD_REQUEST)
        return await task
    finally:
        watcher.cancel()
        task.cancel()


async def _disconnected(request: Request) -> None:
    # After the body, the server's next message is the disconnect (or none at all
    # until the answer is sent).
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _error_response(
    message: str, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    match = _CODE.match(message)
    body = {"error": message, "code": match.group(1) if match else None}
    return JSONResponse(body, status_code=status, headers=headers)


async def _request_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestError)
    if isinstance(error, _Gone):
        return Response(status_code=error.status)
    return _error_response(str(error), error.status)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    method, path = request.method, request.url.path
    if error.status_code == 404:
        message = Errors.E093.format(method=method, path=path, routes=", ".join(ROUTES))
    elif error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        message = Errors.E094.format(method=method, path=path, allowed=allowed)
    else:
        message = str(error.detail)
    return _error_response(message, error.status_code, error.headers)


async def _server_error(request: Request, error: Exception) -> Response:
    problem = f"{type(error).__name__}: {_clip(str(error))}"
    return _error_response(Errors.E092.format(error=problem), FAILED)


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
