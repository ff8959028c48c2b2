"""Downloading one file: resumed after an interruption, verified, all or nothing.

Bytes go to ``OUTPUT.partial``, which becomes OUTPUT only once the download is
complete and its checksums match. Beside it, ``OUTPUT.partial.json`` records the
URL and the server's validator of the file (its ETag or Last-Modified date). A
download that stops midway keeps both, and the next one for the same URL asks the
server for the rest (an HTTP Range request, with If-Range: the rest of the same
file or all of the new one), starting over if the server cannot send a part. A
partial file without its record, or another URL's, is deleted and the download
starts over. A wrong checksum deletes it.
"""

import contextlib
import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import Errors, FetchError, WriteError, not_a_regular_file

#: The checksums a fetch can verify, and the length of each one's hex digest.
ALGORITHMS = {"md5": 32, "sha256": 64}
#: Bytes read from the network (and from a file being hashed) at a time.
CHUNK_SIZE = 1 << 20
#: How many times one call resumes a download that stops midway.
RETRIES = 3

#: Called with the bytes of the file there so far and its full size (None: unknown).
Progress = Callable[[int, "int | None"], None]


@dataclass
class FetchResult:
    """What a fetch did.

    url (str): The URL fetched.
    output (Path): The file, complete and verified.
    size (int): Its size in bytes.
    downloaded (int): Bytes this call downloaded; 0 when OUTPUT was there already.
    resumed (bool): Whether the download continued a partial file.
    digests (dict[str, str]): The checksums verified, by algorithm (``{"md5": ...}``).
    restarted (bool): Whether a partial file was deleted and the download started
        over from the first byte: it was another URL's, had no record of its URL, the
        file had changed on the server, or the server could not send the rest.
    """

    url: str
    output: Path
    size: int
    downloaded: int
    resumed: bool = False
    digests: dict[str, str] = field(default_factory=dict)
    restarted: bool = False

    def summary(self) -> str:
        """One line for the command line.

        RETURNS (str): E.g. "Fetched 4.2 MB to corpus/raw/sst2/train.tsv (md5 verified)."
        """
        checked = ", ".join(self.digests)
        verified = f"{checked} verified" if checked else "no checksum given"
        if not self.downloaded and self.resumed:
            # The partial file held the whole file: an earlier run stopped before renaming it.
            return (
                f"Fetched {_size(self.size)} to {self.output} ({verified}, from the partial file)."
            )
        if not self.downloaded:
            return f"{self.output} is there already ({verified}); not fetched again."
        restarted = ", restarted from the first byte" if self.restarted else ""
        resumed = ", resumed" if self.resumed else ""
        return f"Fetched {_size(self.size)} to {self.output} ({verified}{restarted}{resumed})."


def partial_path(output: str | Path) -> Path:
    """Where a download to ``output`` keeps its bytes until it is complete and verified.

    output (str | Path): The file being fetched.
    RETURNS (Path): ``OUTPUT.partial``, beside it.
    """
    output = Path(output)
    return output.with_name(output.name + ".partial")


def record_path(output: str | Path) -> Path:
    """Where a download to ``output`` records what its partial file holds.

    The record, JSON, names the URL and the server's validators of the file
    (``etag``, ``last_modified``) and its size; only a download of the same URL
    continues the partial file, and only while the file is unchanged.

    output (str | Path): The file being fetched.
    RETURNS (Path): ``OUTPUT.partial.json``, beside it.
    """
    return _record(partial_path(output))


def fetch(
    url: str,
    output: str | Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    force: bool = False,
    retries: int = RETRIES,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> FetchResult:
    """Download ``url`` to ``output``, resuming an interrupted download, verifying it.

    OUTPUT appears only complete and verified. Without ``force``, an OUTPUT that is
    there already is not fetched again when it has the checksums given (or when
    none is given: nothing else writes OUTPUT, so it is complete); one with other
    checksums is replaced once the right file has arrived. A partial file is
    continued only by a download of the URL that began it, and only while the
    server's file is unchanged; any other is deleted and the download starts over.
    Only ``url`` is requested (and where its server redirects it).

    url (str): An http:// or https:// URL.
    output (str | Path): The file to write; its folder is created.
    md5 (str | None): The file's MD5 checksum in hex. None or "": check none.
    sha256 (str | None): Its SHA-256 checksum in hex. None or "": check none.
    force (bool): Download again even if OUTPUT is there.
    retries (int): How many times to resume a download that stops midway.
    timeout (float): Seconds to wait for the server before giving up on a request.
    progress (Progress | None): Called as bytes arrive: ``progress(done, total)``.
    RETURNS (FetchResult): What was done.
    """
    expected = expected_digests(md5=md5, sha256=sha256)
    output = Path(output)
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (reading it checks the port)
    except ValueError as error:
        raise FetchError(Errors.E150.format(url=url, error=error, output=output)) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(Errors.E124.format(url=url, output=output))
    # urllib sends such a URL as it is, and the server's refusal would read as a network error.
    odd = next((i for i, ch in enumerate(url) if ch.isspace() or not ch.isprintable()), None)
    if odd is not None:
        error = f"character {odd + 1} is {url[odd]!r}; percent-encode it, as %20 for a space"
        shown = repr(url)[1:-1]
        raise FetchError(Errors.E150.format(url=shown, error=error, output=output))
    if not parts.hostname:
        raise FetchError(Errors.E150.format(url=url, error="it names no host", output=output))
    problem = not_a_regular_file(output)
    if problem:
        raise FetchError(Errors.E047.format(path=output, option="OUTPUT", problem=problem))
    if output.is_file() and not force:
        found = file_digests(output, expected)
        if found == expected:
            return FetchResult(url, output, output.stat().st_size, 0, digests=found)
    partial = partial_path(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WriteError(output, error) from None
    downloaded, resumed, restarted = _download(
        url, partial, retries=retries, timeout=timeout, on=progress
    )
    found = file_digests(partial, expected)
    for algorithm, digest in expected.items():
        if found[algorithm] != digest:
            _discard(partial)
            raise FetchError(
                Errors.E128.format(
                    url=url,
                    algorithm=algorithm,
                    expected=digest,
                    actual=found[algorithm],
                    output=output,
                )
            )
    try:
        os.replace(partial, output)
    except OSError as error:
        raise WriteError(output, error) from None
    # OUTPUT is in place: a record left behind is deleted by the next download.
    with contextlib.suppress(OSError):
        _record(partial).unlink(missing_ok=True)
    size = output.stat().st_size
    return FetchResult(url, output, size, downloaded, resumed, found, restarted)


def expected_digests(*, md5: str | None = None, sha256: str | None = None) -> dict[str, str]:
    """The checksums to verify, checked and in lowercase.

    md5 (str | None): An MD5 hex digest; None or "" for none.
    sha256 (str | None): A SHA-256 hex digest; None or "" for none.
    RETURNS (dict[str, str]): The digests given, by algorithm.
    """
    given = {"md5": md5, "sha256": sha256}
    digests: dict[str, str] = {}
    for algorithm, value in given.items():
        if value is None or not value.strip():
            continue
        digest = value.strip().lower()
        length = ALGORITHMS[algorithm]
        if len(digest) != length or any(c not in "0123456789abcdef" for c in digest):
            raise FetchError(Errors.E123.format(algorithm=algorithm, length=length, value=value))
        digests[algorithm] = digest
    return digests


def file_digests(path: str | Path, algorithms: Mapping[str, Any]) -> dict[str, str]:
    """A file's checksums, reading it once.

    path (str | Path): The file.
    algorithms (Mapping[str, Any]): The algorithms wanted, as keys (``{"md5": ...}``).
    RETURNS (dict[str, str]): The hex digest of each.
    """
    hashes = {algorithm: hashlib.new(algorithm) for algorithm in algorithms}
    if hashes:
        with Path(path).open("rb") as file:
            while chunk := file.read(CHUNK_SIZE):
                for digest in hashes.values():
                    digest.update(chunk)
    return {algorithm: digest.hexdigest() for algorithm, digest in hashes.items()}


class _Stopped(Exception):
    """The body stopped before its end; the partial file keeps what arrived."""

    def __init__(self, received: int, total: int | None, reason: object, continued: bool) -> None:
        super().__init__(str(reason))
        self.received = received
        self.total = total
        self.reason = reason
        self.continued = continued


class _StartOver(Exception):
    """The partial file cannot be continued; it was removed."""


def _download(
    url: str, partial: Path, *, retries: int, timeout: float, on: Progress | None
) -> tuple[int, bool, bool]:
    downloaded = 0
    resumed = restarted = False
    attempt = 0
    while True:
        record, discarded = _resumable(url, partial)
        restarted = restarted or discarded
        have = partial.stat().st_size if record is not None else 0
        try:
            received, continued = _request(url, partial, have, record, timeout, on)
            # A part asked for that came as the whole file started the download over.
            restarted = restarted or bool(have and not continued)
            return downloaded + received, resumed or continued, restarted
        except _StartOver:
            restarted = True
            continue
        except _Stopped as stop:
            downloaded += stop.received
            resumed = resumed or stop.continued
            restarted = restarted or bool(have and not stop.continued)
            attempt += 1
            if attempt > retries:
                size = partial.stat().st_size if partial.is_file() else 0
                raise FetchError(
                    Errors.E127.format(
                        url=url,
                        received=size,
                        expected=stop.total if stop.total is not None else "?",
                        error=stop.reason,
                        partial=partial,
                    )
                ) from None
            # A server that dropped the connection often needs a moment.
            time.sleep(attempt - 1)


def _resumable(url: str, partial: Path) -> tuple[dict[str, Any] | None, bool]:
    """The record of a partial file that a download of ``url`` can continue.

    RETURNS (tuple[dict | None, bool]): The record, or None when there is nothing to
        continue; and whether a partial file was deleted because it cannot be: it has
        no record (a version before records, a record lost) or another URL's.
    """
    if partial.is_file() and partial.stat().st_size:
        record = _read_record(partial)
        if record is not None and record["url"] == url:
            return record, False
        _discard(partial)
        return None, True
    _discard(partial)
    return None, False


def _request(
    url: str,
    partial: Path,
    have: int,
    record: dict[str, Any] | None,
    timeout: float,
    on: Progress | None,
) -> tuple[int, bool]:
    """Fetch the rest of the file (all of it when ``have`` is 0) into ``partial``.

    RETURNS (tuple[int, bool]): The bytes received, and whether they continued the
        partial file. Raises ``_Stopped`` when the body stops early and ``_StartOver``
        when the partial file was removed to start again.
    """
    headers = {"User-Agent": "nlp-tasks-fetch", "Accept-Encoding": "identity"}
    if have and record is not None:
        headers["Range"] = f"bytes={have}-"
        # The server sends the part only if the file still has this validator, and
        # the whole (new) file otherwise: never the rest of another version.
        validator = _if_range(record)
        if validator:
            headers["If-Range"] = validator
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        with error:
            if error.code == 416 and have:
                # The partial file is the whole file already, or no part of this one.
                total = _range_total(error.headers.get("Content-Range"))
                if (
                    total == have
                    and record is not None
                    and record["size"] in (None, have)
                    and _unchanged(record, error.headers, total)
                ):
                    return 0, True
                _discard(partial)
                raise _StartOver from None
        raise FetchError(
            Errors.E125.format(
                url=url, status=error.code, reason=error.reason, output=_final(partial)
            )
        ) from None
    except (urllib.error.URLError, HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise FetchError(Errors.E126.format(url=url, error=reason, kept=_kept(partial))) from None
    with response:
        start, declared = 0, None
        if have and response.status == 206:
            start = _range_start(response.headers.get("Content-Range"))
            declared = _range_total(response.headers.get("Content-Range"))
            if start != have or not _unchanged(record, response.headers, declared):
                _discard(partial)
                raise _StartOver
        length = _int(response.headers.get("Content-Length"))
        total = start + length if length is not None else declared
        # A 200 answer to a Range request is the whole file: start it over.
        with _open(partial, "ab" if start else "wb") as file:
            if not start:
                # Written once the old bytes are gone, so a record never describes
                # bytes of another file or version.
                _write_record(partial, url, response.headers, total)
            received = _copy(response, file, partial, start, total, on)
    if total is not None and start + received > total:
        # More than the server said the file holds: the parts do not fit together.
        _discard(partial)
        raise FetchError(
            Errors.E142.format(url=url, size=start + received, total=total, output=_final(partial))
        )
    if total is not None and start + received < total:
        raise _Stopped(received, total, "the connection closed early", bool(start))
    return received, bool(start)


def _copy(
    response: Any, file: BinaryIO, partial: Path, start: int, total: int | None, on: Any
) -> int:
    received = 0
    if on is not None:
        on(start, total)
    while True:
        try:
            chunk = response.read(CHUNK_SIZE)
        except (HTTPException, OSError) as error:
            raise _Stopped(received, total, error, bool(start)) from None
        if not chunk:
            return received
        try:
            file.write(chunk)
        except OSError as error:
            raise WriteError(partial, error) from None
        received += len(chunk)
        if on is not None:
            on(start + received, total)


def _open(path: Path, mode: str) -> BinaryIO:
    try:
        return path.open(mode)
    except OSError as error:
        raise WriteError(path, error) from None


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise WriteError(path, error) from None


def _discard(partial: Path) -> None:
    _remove(partial)
    _remove(_record(partial))


def _record(partial: Path) -> Path:
    return partial.with_name(partial.name + ".json")


def _read_record(partial: Path) -> dict[str, Any] | None:
    # Unreadable or not ours: as good as none, and the download starts over.
    try:
        record = json.loads(_record(partial).read_text(encoding="utf8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return None
    size = record.get("size")
    return {
        "url": record["url"],
        "etag": _str(record.get("etag")),
        "last_modified": _str(record.get("last_modified")),
        "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
    }


def _write_record(partial: Path, url: str, headers: Any, total: int | None) -> None:
    path = _record(partial)
    temp = path.with_name(path.name + ".tmp")
    record = {
        "url": url,
        "etag": headers.get("ETag"),
        "last_modified": headers.get("Last-Modified"),
        "size": total,
    }
    try:
        temp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf8")
        os.replace(temp, path)
    except OSError as error:
        raise WriteError(path, error) from None


def _if_range(record: dict[str, Any]) -> str | None:
    # A weak ETag (W/"...") cannot be an If-Range validator; a date can.
    etag = record["etag"]
    if etag and not etag.startswith("W/"):
        return etag
    return record["last_modified"]


def _unchanged(record: dict[str, Any] | None, headers: Any, total: int | None) -> bool:
    # A part is of the file begun only if it matches the record in every validator
    # both name: a server or proxy may ignore If-Range but honour Range.
    if record is None:
        return False
    etag, modified = headers.get("ETag"), headers.get("Last-Modified")
    if record["etag"] and etag and etag != record["etag"]:
        return False
    if record["last_modified"] and modified and modified != record["last_modified"]:
        return False
    return record["size"] is None or total is None or total == record["size"]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _range_start(content_range: str | None) -> int | None:
    # "bytes 100-199/200": the part starts at byte 100.
    if not content_range or not content_range.startswith("bytes "):
        return None
    return _int(content_range[6:].partition("-")[0])


def _range_total(content_range: str | None) -> int | None:
    # "bytes */200" (a 416 answer) or "bytes 100-199/200": the file has 200 bytes.
    if not content_range or "/" not in content_range:
        return None
    return _int(content_range.rpartition("/")[2])


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _final(partial: Path) -> Path:
    return partial.with_name(partial.name[: -len(".partial")])


def _kept(partial: Path) -> str:
    if partial.is_file() and partial.stat().st_size:
        size = partial.stat().st_size
        return f"{partial} keeps the {size} bytes that arrived; the next run resumes from there."
    return "Nothing was written."


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if size < scale * 1000 or unit == "GB":
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
