"""What ``i2i serve`` and ``i2i study serve`` share: a threaded stdlib HTTP server, JSON errors, bounded bodies,
and the page assets packaged under ``i2i/web/``."""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from i2i.core.errors import ConfigError

WEB_ASSETS = Path(__file__).parent
"""The pages' HTML, JavaScript and CSS (package data)."""


class HttpError(Exception):
    """A request the server refuses: sent as ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler with JSON replies, size-checked request bodies and static files; quiet unless ``verbose``."""

    server_version = "i2i"
    verbose = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        if self.verbose:
            super().log_message(format, *args)

    def send_bytes(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def send_error_json(self, error: HttpError) -> None:
        headers = {"Retry-After": "1"} if error.status == 503 else {}
        if error.status in (411, 413):
            self.close_connection = True  # the unread body must not be taken for the next request
            headers["Connection"] = "close"
        self.send_json(error.status, {"error": error.message}, headers)

    def read_body(self, limit: int) -> bytes:
        """The request body, refused before reading when its declared length is missing or over ``limit``."""
        length = self.headers.get("Content-Length")
        if length is None:
            raise HttpError(411, "send the body with a Content-Length header")
        try:
            size = int(length)
        except ValueError:
            raise HttpError(400, f"bad Content-Length {length!r}") from None
        if size > limit:
            raise HttpError(413, f"the upload is {size} bytes; the limit is {limit} bytes")
        return self.rfile.read(size) if size > 0 else b""

    def send_file(self, path: Path) -> None:
        if not path.is_file():
            raise HttpError(404, f"not found: {self.path}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        self.send_bytes(200, path.read_bytes(), content_type)


def safe_child(root: Path, relative: str) -> Path:
    """``root / relative`` for a URL path inside ``root``; anything that escapes it (``..``, links) is a 404."""
    base = root.resolve()
    path = (base / relative.lstrip("/")).resolve()
    if path != base and base not in path.parents:
        raise HttpError(404, f"not found: /{relative}")
    return path


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_server(handler: type[BaseHTTPRequestHandler], host: str, port: int) -> ThreadingHTTPServer:
    """Bind ``handler`` on ``host:port`` (0 picks a free port) and serve it from a daemon thread."""
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="i2i-http", daemon=True).start()
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in str(host) else host
    return f"http://{shown}:{port}/"


def wait_for_interrupt(url: str, host: str, what: str) -> None:
    """Print where ``what`` is served (and a warning for a non-loopback ``host``), then block until Ctrl-C."""
    if not is_loopback(host):
        click.echo(f"Warning: --host {host} makes {what} reachable from other machines, without authentication; "
                   f"serve it only on a network you trust", err=True)
    click.echo(f"Serving {what} on {url} (Ctrl-C to stop)", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
