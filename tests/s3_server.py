"""A real S3-compatible server for tests: moto in server mode on 127.0.0.1, counted.

``serve_s3()`` starts moto's ThreadedMotoServer on a free port of 127.0.0.1 and
wraps its WSGI application so that every request is counted (``requests``) with the
response body bytes it sent (``sent``), as the byte-range HTTP server of
range_server.py does. ``refuse(predicate)`` makes the server answer matching
requests with an S3 ``AccessDenied`` error, a fault injected in the middle of an
upload (the client does not retry it). Clients use s3fs with ``storage_options``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

__all__ = ["CREDENTIALS", "S3Server", "serve_s3"]

#: Dummy credentials: moto accepts any, botocore insists on some.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}
Environ = dict[str, Any]

_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
           b"<Message>refused by the test (injected fault)</Message></Error>")


class S3Server:
    """Counts what moto's WSGI app receives and sends; can refuse chosen requests."""

    def __init__(self, app: Callable[..., Iterable[bytes]], url: str) -> None:
        self.app = app
        self.url = url
        self.lock = threading.Lock()
        self.requests = 0
        self.sent = 0
        self.log: list[tuple[str, str, str, str | None]] = []
        self.refusing: Callable[[str, str, dict[str, list[str]]], bool] | None = None

    @property
    def storage_options(self) -> dict[str, Any]:
        return {"endpoint_url": self.url, "key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "secret": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.sent = 0
            self.log.clear()

    def refuse(self, predicate: Callable[[str, str, dict[str, list[str]]], bool] | None
               ) -> None:
        """Answer requests for which ``predicate(method, path, query)`` holds with an error."""
        self.refusing = predicate

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterator[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        with self.lock:
            self.requests += 1
            self.log.append((method, path, query, environ.get("HTTP_RANGE")))
        refusing = self.refusing
        if refusing is not None and refusing(method, path, parse_qs(query,
                                                                    keep_blank_values=True)):
            _drain(environ)
            start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                             ("Content-Length", str(len(_DENIED)))])
            yield _DENIED
            return
        body = self.app(environ, start_response)
        try:
            for piece in body:
                with self.lock:
                    self.sent += len(piece)
                yield piece
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()


def _drain(environ: Environ) -> None:
    """Read the refused request's body, so the connection stays usable."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    while length > 0:
        piece = stream.read(min(length, 1 << 20))
        if not piece:
            break
        length -= len(piece)


@contextmanager
def serve_s3() -> Iterator[S3Server]:
    """Run moto's S3 on 127.0.0.1 (a free port) for the duration of the block."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        wsgi = server._server  # the werkzeug server: its app is what we count
        counted = S3Server(wsgi.app, f"http://{host}:{port}")
        wsgi.app = counted
        yield counted
    finally:
        server.stop()
