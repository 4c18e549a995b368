"""A small HTTP server for tests: serves one folder with byte ranges and counts what it sends.

``Range: bytes=a-b`` gets ``206 Partial Content`` with ``Content-Range``, as object
stores and web servers answer, so fsspec's HTTP file system reads files in pieces.
``sent`` counts body bytes, which is what remote-read tests bound. The server binds
127.0.0.1 on a free port and shuts itself down after ``lifetime`` seconds at most.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["RangeServer", "serve"]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeServer(ThreadingHTTPServer):
    """Serves ``root``; ``sent`` counts body bytes, ``requests`` GET and HEAD requests."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.lock = threading.Lock()
        self.sent = 0
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.sent = 0
            self.requests = 0

    def count(self, nbytes: int, *, request: bool = False) -> None:
        """Count a request and/or body bytes, before they are sent: a client that has
        read everything must find it counted (a reset right after is exact)."""
        with self.lock:
            self.sent += nbytes
            self.requests += int(request)


class _Handler(BaseHTTPRequestHandler):
    server: RangeServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _file(self) -> Path | None:
        path = (self.server.root / self.path.lstrip("/").split("?")[0]).resolve()
        return path if path.is_file() and self.server.root in path.parents else None

    def do_HEAD(self) -> None:
        self.server.count(0, request=True)
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.count(0, request=True)
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        size = path.stat().st_size
        start, end = self._range(size)
        if start is None:
            self.send_error(416)
            return
        length = end - start + 1
        self.send_response(206 if self.headers.get("Range") else 200)
        if self.headers.get("Range"):
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._send(path, start, length)

    def _range(self, size: int) -> tuple[int | None, int]:
        header = self.headers.get("Range")
        if not header:
            return 0, size - 1
        match = _RANGE.match(header.strip())
        if match is None or not (match[1] or match[2]):
            return None, 0
        if not match[1]:  # suffix range: the last N bytes
            return max(0, size - int(match[2])), size - 1
        start, end = int(match[1]), int(match[2]) if match[2] else size - 1
        return (start, min(end, size - 1)) if start < size and start <= end else (None, 0)

    def _send(self, path: Path, start: int, length: int) -> None:
        sent = 0
        with open(path, "rb") as f:
            f.seek(start)
            while sent < length:
                block = f.read(min(1 << 20, length - sent))
                if not block:
                    break
                self.server.count(len(block))
                try:
                    self.wfile.write(block)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(block)


@contextmanager
def serve(root: Path, *, lifetime: float = 600.0) -> Iterator[RangeServer]:
    """Run a RangeServer for ``root`` in a thread; stopped on exit or after ``lifetime`` s."""
    server = RangeServer(root.resolve())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        yield server
    finally:
        timer.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
