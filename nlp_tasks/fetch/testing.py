"""A file server on 127.0.0.1 for tests of fetching: no network, every request seen.

It serves files from memory with an ETag that changes with their bytes, answers
Range requests (or, switched off, ignores them as some servers do) and If-Range
conditions, and can drop a connection partway through a body, as a failing
network does.
"""

import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    """Files served from memory by a loopback HTTP server.

    files (dict[str, bytes]): The files by URL path (``"/SST-2/train.tsv"``).
    ranges (bool): Whether to answer Range requests with part of a file (206).
    requests (list[tuple[str, str | None]]): Each request's path and Range header.
    request_headers (list[dict[str, str]]): Each request's headers, e.g. its If-Range.
    drop_after (dict[str, list[int]]): For a path, byte counts after which the next
        requests' connections are dropped, one count a request.
    whole_body_for_ranges (bool): Answer a Range request with 206 and the part's
        Content-Range, but send the whole file and no Content-Length, as a broken
        server or proxy does.
    etags (bool): Send each file's ETag (the MD5 of its bytes, quoted).
    last_modified (dict[str, str]): For a path, the Last-Modified date to send.
    if_range (bool): Honour If-Range: a Range request whose If-Range names neither
        the file's ETag nor its Last-Modified date gets the whole file (200).
        Switched off, Range is answered whatever If-Range says, as a broken server
        or proxy does.
    """

    def __init__(self, files: dict[str, bytes], *, ranges: bool = True) -> None:
        self.files = dict(files)
        self.ranges = ranges
        self.requests: list[tuple[str, str | None]] = []
        self.request_headers: list[dict[str, str]] = []
        self.drop_after: dict[str, list[int]] = {}
        self.whole_body_for_ranges = False
        self.etags = True
        self.last_modified: dict[str, str] = {}
        self.if_range = True
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # A short poll interval: shutting the server down waits for one.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def root(self) -> str:
        """The server's URL, without a trailing slash: ``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """The URL of a served file.

        path (str): Its path, with or without the leading slash.
        RETURNS (str): E.g. ``http://127.0.0.1:PORT/SST-2/train.tsv``.
        """
        return f"{self.root}/{path.lstrip('/')}"

    def count(self, path: str) -> int:
        """How many requests asked for a path.

        path (str): The path, with or without the leading slash.
        RETURNS (int): The number of requests.
        """
        wanted = "/" + path.lstrip("/")
        return sum(1 for requested, _ in self.requests if requested == wanted)

    def start(self) -> None:
        """Start answering requests, on a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering, close the socket and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def serve_files(files: dict[str, bytes], *, ranges: bool = True) -> Iterator[FileServer]:
    """Serve files from memory on 127.0.0.1 (a free port) while the block runs.

    files (dict[str, bytes]): The files by URL path.
    ranges (bool): Whether to answer Range requests with part of a file.
    YIELDS (FileServer): The running server; it is shut down when the block ends.
    """
    server = FileServer(files, ranges=ranges)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            path = self.path.split("?", 1)[0]
            wanted = self.headers.get("Range")
            server.requests.append((path, wanted))
            server.request_headers.append(dict(self.headers.items()))
            data = server.files.get(path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            validators = {
                "ETag": f'"{hashlib.md5(data).hexdigest()}"' if server.etags else None,
                "Last-Modified": server.last_modified.get(path),
            }
            start = _range_start(wanted) if server.ranges else None
            condition = self.headers.get("If-Range")
            if server.if_range and condition is not None and condition not in validators.values():
                start = None  # the file has changed: send all of it
            if start is not None and start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                for name, value in validators.items():
                    if value is not None:
                        self.send_header(name, value)
                self.end_headers()
                return
            body = data[start:] if start is not None else data
            self.send_response(206 if start is not None else 200)
            if start is not None:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            if start is not None and server.whole_body_for_ranges:
                body = data
                self.close_connection = True  # no Content-Length: the body ends with it
            else:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes" if server.ranges else "none")
            for name, value in validators.items():
                if value is not None:
                    self.send_header(name, value)
            self.end_headers()
            drops = server.drop_after.get(path)
            if drops:
                self.wfile.write(body[: drops.pop(0)])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

        def finish(self) -> None:
            try:
                super().finish()
            except OSError:
                pass  # the connection was dropped on purpose

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _range_start(header: str | None) -> int | None:
    # Only the form a resumed download sends: "bytes=N-".
    if not header or not header.startswith("bytes=") or not header.endswith("-"):
        return None
    try:
        return int(header[len("bytes=") : -1])
    except ValueError:
        return None
