"""Test helpers: pix2pix-layout archives built from generated pairs, and a local HTTP server for them.

:class:`FileServer` serves ``{path: bytes}`` on 127.0.0.1 (port 0, threaded), honours ``Range:
bytes=N-``, records each request's headers, counts the body bytes it sent, can break off the next
response after ``cut_after`` bytes, and holds bodies back while ``gate`` (an Event) is unset.
"""

from __future__ import annotations

import io
import hashlib
import re
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

SPLIT_COUNTS = {"train": 3, "val": 2, "test": 2}


def make_pairs(count: int, size: int = 40, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` (A, B) pairs of smooth random RGB images, ``size``×``size`` each."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        coarse = rng.integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
        a, b = (np.asarray(Image.fromarray(c).resize((size, size), Image.Resampling.BILINEAR)) for c in coarse)
        pairs.append((a, b))
    return pairs


def split_pairs(counts: dict[str, int] = SPLIT_COUNTS, seed: int = 0) -> dict[str, list]:
    """Pairs per split, in order (one stream of pairs cut into ``counts``)."""
    pairs = iter(make_pairs(sum(counts.values()), seed=seed))
    return {split: [next(pairs) for _ in range(n)] for split, n in counts.items()}


def encode(image: np.ndarray, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def pairs_archive(top: str, splits: dict[str, list], extra: dict[str, bytes] | None = None) -> bytes:
    """A .tar.gz in the public layout: ``<top>/<split>/<n>.jpg`` holding A|B side by side (n from 1)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        files = {f"{top}/{split}/{n}.jpg": encode(np.concatenate(pair, axis=1))
                 for split, pairs in splits.items() for n, pair in enumerate(pairs, 1)}
        for name, data in {**files, **(extra or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_split(root: Path, split: str) -> list[np.ndarray]:
    """The decoded aligned images of ``root/split`` in name order."""
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted((root / split).iterdir())]


class FileServer:
    """``with FileServer({"/x.tar.gz": data}) as server: download(server.url + "/x.tar.gz", ...)``."""

    def __init__(self, files: dict[str, bytes], *, ranges: bool = True) -> None:
        self.files, self.ranges = files, ranges
        self.requests: list[dict[str, str]] = []
        self.sent = 0
        self.cut_after: int | None = None
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def gets(self, path: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r["path"] == path]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                    cut, server.cut_after = server.cut_after, None
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
                found = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                start = int(found.group(1)) if found and server.ranges else 0
                if self.headers.get("If-Range", etag) != etag:  # the file changed: send all of it
                    start = 0
                if start >= len(data) > 0:
                    self.send_error(416)
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("ETag", etag)
                self.end_headers()
                body = data[start:] if cut is None else data[start:start + cut]
                server.gate.wait(60)
                self.wfile.write(body)
                with server._lock:
                    server.sent += len(body)

        return Handler

    def __enter__(self) -> FileServer:
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
