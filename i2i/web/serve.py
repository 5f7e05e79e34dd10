"""``i2i serve``: a drawing/upload page and a JSON/HTTP API over one or more translators.

Every model has one worker thread behind a bounded queue: requests are decoded (under byte and pixel
limits) in their own threads, translated one at a time per model, and a full queue answers 503.

API (all errors are ``{"error": "..."}`` with a 4xx/5xx status):

- ``GET /api/models``: the models (name, task, channels, crop size, default mode, label palette) and limits.
- ``POST /api/translate?model=NAME&mode=paper|eval&seed=N`` with the image file's bytes as the body:
  the output as PNG, the input's size. ``model`` defaults to the first, ``mode`` to the model's own.
"""

from __future__ import annotations

import io
import queue
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from i2i.core.errors import I2IError
from i2i.web.server import WEB_ASSETS, HttpError, JsonHandler, server_url, start_server

_SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
"""Upload formats (as Pillow names them) and the suffix that tells :func:`i2i.data.images.read_image` how to read them."""
_PAGE_FILES = ("serve.html", "serve.js", "i2i.css")
MAX_WAIT_S = 600


@dataclass(frozen=True)
class Limits:
    """What one request may send: bytes of the upload, pixels of the decoded image, jobs waiting per model."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 2048 * 2048
    queue_size: int = 8


def decode_upload(data: bytes, limits: Limits):
    """An uploaded image file as a (C, H, W) integer tensor, read by :func:`i2i.data.images.read_image`.

    Size and pixel count are checked from the header before anything is decoded.
    """
    from PIL import Image

    from i2i.data.images import read_image

    if not data:
        raise HttpError(400, "the request has no body: POST the image file's bytes")
    if len(data) > limits.max_bytes:
        raise HttpError(413, f"the upload is {len(data)} bytes; the limit is {limits.max_bytes} bytes")
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the header only
            kind, (width, height) = header.format, header.size
    except Image.DecompressionBombError:
        raise HttpError(413, f"the image has more than {limits.max_pixels} pixels") from None
    except (OSError, ValueError, SyntaxError):
        raise HttpError(415, "the upload is not an image file (PNG, JPEG, GIF, WebP, BMP or TIFF)") from None
    if kind not in _SUFFIXES:
        raise HttpError(415, f"{kind} images are not accepted; send PNG, JPEG, GIF, WebP, BMP or TIFF")
    if width * height > limits.max_pixels:
        raise HttpError(413, f"the image is {width}x{height} = {width * height} pixels; "
                             f"the limit is {limits.max_pixels}")
    with tempfile.TemporaryDirectory(prefix="i2i-upload-") as folder:
        path = Path(folder) / f"upload{_SUFFIXES[kind]}"
        path.write_bytes(data)
        try:
            return read_image(path)
        except I2IError as exc:
            raise HttpError(415, str(exc).replace(str(path), "the upload")) from None


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


class ModelWorker:
    """One translator, one thread, a bounded queue: jobs run one at a time, in order, each with its own mode and seed."""

    def __init__(self, name: str, translator, queue_size: int, palette=()) -> None:
        self.name, self.translator, self.palette = name, translator, tuple(palette)
        self.default_mode = translator.mode
        self._jobs: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._work, name=f"i2i-model-{name}", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return self._jobs.qsize()

    def info(self) -> dict[str, Any]:
        config = self.translator.config
        return {"name": self.name, "task": config["task"], "in_channels": config["in_channels"],
                "out_channels": config["out_channels"], "crop_size": config["train_size"]["crop_size"],
                "size_multiple": self.translator.size_multiple, "default_mode": self.default_mode,
                "palette": [{"name": name, "color": _hex(rgb)} for name, rgb in self.palette]}

    def submit(self, image, mode: str | None, seed: int | None) -> Future:
        """Queue ``image`` for translation; a full queue is a 503."""
        future: Future = Future()
        try:
            self._jobs.put_nowait((image, mode or self.default_mode, seed, future))
        except queue.Full:
            raise HttpError(503, f"model {self.name!r} is busy ({self._jobs.maxsize} requests waiting); "
                                 f"try again shortly") from None
        return future

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _work(self) -> None:
        from i2i.core.components import set_inference_mode

        translator = self.translator
        while (job := self._jobs.get()) is not None:
            image, mode, seed, future = job
            try:
                if mode != translator.mode:
                    translator.mode = mode
                    set_inference_mode(translator.generator, mode)
                translator.seed = seed
                future.set_result(translator.translate(image))
            except Exception as exc:  # noqa: BLE001 (handed to the request that asked)
                future.set_exception(exc)


def _page_handler(workers: dict[str, ModelWorker], limits: Limits) -> type[JsonHandler]:
    first = next(iter(workers))

    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self._answer(self._get)

        def do_POST(self) -> None:  # noqa: N802
            self._answer(self._post)

        def _answer(self, route: Callable[[str, dict[str, list[str]]], None]) -> None:
            url = urlsplit(self.path)
            try:
                route(url.path, parse_qs(url.query))
            except HttpError as error:
                self.send_error_json(error)

        def _get(self, path: str, query) -> None:
            if path == "/api/models":
                self.send_json(200, {"models": [w.info() for w in workers.values()],
                                     "limits": {"max_bytes": limits.max_bytes, "max_pixels": limits.max_pixels}})
            elif path in ("/", "/index.html"):
                self.send_file(WEB_ASSETS / "serve.html")
            elif path.startswith("/static/") and path[len("/static/"):] in _PAGE_FILES:
                self.send_file(WEB_ASSETS / path[len("/static/"):])
            else:
                raise HttpError(404, f"not found: {path}")

        def _post(self, path: str, query) -> None:
            if path != "/api/translate":
                raise HttpError(404, f"not found: {path}")
            worker, mode, seed = self._options(query)
            image = decode_upload(self.read_body(limits.max_bytes), limits)
            future = worker.submit(image, mode, seed)
            try:
                output = future.result(timeout=MAX_WAIT_S)
            except I2IError as exc:
                raise HttpError(422, str(exc)) from None
            except TimeoutError:
                raise HttpError(504, f"no result within {MAX_WAIT_S} s") from None
            except Exception as exc:  # noqa: BLE001 (a bug: report it, keep serving)
                raise HttpError(500, f"translation failed: {type(exc).__name__}: {exc}") from None
            buffer = io.BytesIO()
            output.save(buffer, format="PNG")
            self.send_bytes(200, buffer.getvalue(), "image/png")

        def _options(self, query) -> tuple[ModelWorker, str | None, int | None]:
            unknown = set(query) - {"model", "mode", "seed"}
            if unknown:
                raise HttpError(400, f"unknown parameter(s) {', '.join(sorted(unknown))}; known: model, mode, seed")
            name = query.get("model", [first])[-1]
            if name not in workers:
                raise HttpError(404, f"unknown model {name!r}; GET /api/models lists them")
            mode = query.get("mode", [""])[-1] or None
            if mode not in (None, "paper", "eval"):
                raise HttpError(400, f"mode must be paper or eval, got {mode!r}")
            seed = query.get("seed", [""])[-1]
            try:
                return workers[name], mode, int(seed) if seed else None
            except ValueError:
                raise HttpError(400, f"seed must be an integer, got {seed!r}") from None

    return Handler


class TranslationServer:
    """The page and API over ``translators`` (name → :class:`i2i.models.translator.Translator`), listening on a thread."""

    def __init__(self, translators: dict, *, host: str = "127.0.0.1", port: int = 8000, limits: Limits = Limits(),
                 palettes: dict | None = None, verbose: bool = False) -> None:
        self.limits = limits
        self.workers = {name: ModelWorker(name, translator, limits.queue_size, (palettes or {}).get(name, ()))
                        for name, translator in translators.items()}
        handler = _page_handler(self.workers, limits)
        handler.verbose = verbose
        self.http = start_server(handler, host, port)

    @property
    def url(self) -> str:
        return server_url(self.http)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        for worker in self.workers.values():
            worker.close()


def task_palette(task_name: str | None) -> tuple:
    """The label colours of a model's task (empty when the task is unknown here or declares none)."""
    from i2i.core.errors import UnknownComponentError
    from i2i.core.plugin_manager import get_registry

    if not task_name:
        return ()
    try:
        return get_registry().resolve("tasks", task_name).palette
    except UnknownComponentError:
        return ()
