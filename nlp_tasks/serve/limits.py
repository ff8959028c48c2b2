"""The service's settings, and the bounds a request must keep to."""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Errors, OptionError, RequestError

#: The statuses of the service's refusals.
BAD_REQUEST, TOO_LARGE, UNPROCESSABLE = 400, 413, 422


@dataclass(frozen=True)
class ServeSettings:
    """How the service batches requests and what it accepts.

    max_batch_size (int): Most docs in one ``nlp.pipe`` batch. A request with
        more records is split across batches and answered in order.
    max_wait_ms (float): How long the first doc of a batch waits for others to
        join it (0: a batch is what is queued when the pipeline is free).
    max_records (int): Most records in one request.
    max_chars (int): Most characters in one field of a record (a text, or the
        strings of a list such as questions, together).
    max_body_bytes (int): Largest request body.
    max_list_items (int): Most strings in a list field of one record (questions):
        a head may run once per item, so this bounds a record's cost.
    fields (Mapping[str, str]): Task field name to the records' field name, for
        every request (``--field``); a request's ``field=`` parameters add to it.
    name (str): The pipeline's name, shown by ``/health`` and the page.
    """

    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_records: int = 256
    max_chars: int = 100_000
    max_body_bytes: int = 10_000_000
    max_list_items: int = 64
    fields: Mapping[str, str] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        names = ("max_batch_size", "max_records", "max_chars", "max_body_bytes", "max_list_items")
        for name in names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(
                    Errors.E065.format(name=name, rule="an integer >= 1", value=value)
                )
        wait = self.max_wait_ms
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
            rule = "a number of milliseconds >= 0"
            raise OptionError(Errors.E065.format(name="max_wait_ms", rule=rule, value=wait))
        if not math.isfinite(wait):
            raise OptionError(Errors.E065.format(name="max_wait_ms", rule="finite", value=wait))
        object.__setattr__(self, "fields", dict(self.fields))


def field_pairs(pairs: Iterable[str], option: str = "--field") -> dict[str, str]:
    """Read ``TASK_FIELD=FIELD`` pairs, as ``--field`` and the ``field=`` parameter give them.

    pairs (Iterable[str]): The pairs.
    option (str): Where they come from, for the message.
    RETURNS (dict[str, str]): Task field name to the records' field name.
        Raises ``RequestError`` (status 422) for a pair without both names (E091)
        or a task field mapped twice to different fields (E153).
    """
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, source = pair.partition("=")
        if not sep or not name.strip() or not source.strip():
            message = Errors.E091.format(option=option, value=pair)
            raise RequestError(message, UNPROCESSABLE)
        name, source = name.strip(), source.strip()
        if fields.get(name, source) != source:
            message = Errors.E153.format(
                option=option, name=name, first=f"{name}={fields[name]}", second=pair.strip()
            )
            raise RequestError(message, UNPROCESSABLE)
        fields[name] = source
    return fields


def check_body_size(
    size: int, limit: int, method: str, path: str, *, at_least: bool = False
) -> None:
    """Refuse a body over the limit (E088, status 413).

    size (int): The body's length in bytes (declared, or read so far).
    limit (int): The largest body allowed.
    method (str): The request's method, for the message.
    path (str): The request's path, for the message.
    at_least (bool): The body was not read to its end: it has ``size`` bytes or more.
    """
    if size > limit:
        shown = f"at least {size}" if at_least else str(size)
        message = Errors.E088.format(method=method, path=path, size=shown, limit=limit)
        raise RequestError(message, TOO_LARGE)


def check_record_count(count: int, limit: int) -> None:
    """Refuse a request of more records than the limit (E089, status 413).

    count (int): The records in the request.
    limit (int): The most allowed.
    """
    if count > limit:
        raise RequestError(Errors.E089.format(count=count, limit=limit), TOO_LARGE)


def check_lengths(values: Mapping[str, Any], limit: int, index: int, path: str) -> None:
    """Refuse a record with a field longer than the limit (E090, status 413).

    A string counts its characters; a list of strings (questions, say) the
    characters of all its strings. Other values are not counted.

    values (Mapping[str, Any]): The record's field name (as the record names it)
        to its checked value.
    limit (int): The most characters allowed in one field.
    index (int): The record's position in the request.
    path (str): The request's path, for the message.
    """
    for name, value in values.items():
        if isinstance(value, str):
            length = len(value)
        elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            length = sum(len(item) for item in value)
        else:
            continue
        if length > limit:
            message = Errors.E090.format(
                path=path, index=index, field=name, length=length, limit=limit
            )
            raise RequestError(message, TOO_LARGE)


def check_list_items(values: Mapping[str, Any], limit: int, index: int, path: str) -> None:
    """Refuse a record with a list field of more items than the limit (E167, status 413).

    values (Mapping[str, Any]): The record's field name (as the record names it)
        to its checked value; only lists are counted.
    limit (int): The most items allowed in one list field.
    index (int): The record's position in the request.
    path (str): The request's path, for the message.
    """
    for name, value in values.items():
        if isinstance(value, (list, tuple)) and len(value) > limit:
            message = Errors.E167.format(
                path=path, index=index, field=name, count=len(value), limit=limit
            )
            raise RequestError(message, TOO_LARGE)
