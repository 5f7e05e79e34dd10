"""`i2i serve`: the JSON/HTTP API (limits, errors, queue, concurrency) and the page in a headless browser."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import wait_for_state
from PIL import Image
from test_modeldir import tiny_unet

from i2i.cli import cli
from i2i.models.modeldir import model_config, save_model_dir
from i2i.models.translator import Translator
from i2i.web.serve import Limits, TranslationServer, task_palette


def tiny_model_dir(path, task: str = "demo"):
    generator, args = tiny_unet(dropout_placement="paper")  # dropout on d1-d2, so paper mode varies by seed
    config = model_config("unet", args, in_channels=3, out_channels=3, load_size=36, crop_size=32, task=task,
                          inference_mode="eval")
    return save_model_dir(path, generator.state_dict(), config)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("serve") / "model")


def start(model_dir, limits: Limits = Limits()) -> TranslationServer:
    translator = Translator.load(model_dir, device="cpu")
    return TranslationServer({"tiny": translator}, port=0, limits=limits, palettes={"tiny": task_palette("demo")})


@pytest.fixture(scope="module")
def server(model_dir):
    running = start(model_dir)
    yield running
    running.close()


def png(width: int, height: int, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def request(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET (``body`` None) or POST; HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=120) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def translate(server, body: bytes, query: str = "") -> tuple[int, str, bytes]:
    return request(f"{server.url}api/translate{query}", body, {"Content-Type": "image/png"})


def expected_output(model_dir, data: bytes) -> np.ndarray:
    translator = Translator.load(model_dir, device="cpu", mode="eval")
    return np.asarray(translator.translate(Image.open(io.BytesIO(data)).convert("RGB")))


def test_models_endpoint_lists_models_palette_and_limits(server):
    status, kind, body = request(f"{server.url}api/models")
    assert status == 200 and kind == "application/json"
    answer = json.loads(body)
    (model,) = answer["models"]
    assert model["name"] == "tiny" and model["task"] == "demo" and model["crop_size"] == 32
    assert model["palette"][0] == {"name": "sky", "color": "#4682e6"}
    assert answer["limits"] == {"max_bytes": Limits().max_bytes, "max_pixels": Limits().max_pixels}


def test_several_models_are_listed_and_picked_by_name(model_dir, tmp_path):
    other = tiny_model_dir(tmp_path / "facades", task="facades")
    translators = {name: Translator.load(path, device="cpu") for name, path in (("a", model_dir), ("b", other))}
    with torch.no_grad():
        for weight in translators["b"].generator.parameters():
            weight.add_(0.1)  # a different model
    both = TranslationServer(translators, port=0, palettes={"b": task_palette("facades")})
    try:
        models = json.loads(request(f"{both.url}api/models")[2])["models"]
        assert [(m["name"], m["task"], len(m["palette"])) for m in models] == [("a", "demo", 0), ("b", "facades", 12)]
        data = png(24, 24)
        first, second = (translate(both, data, f"?model={name}&mode=eval")[2] for name in "ab")
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(first))), expected_output(model_dir, data))
        assert first != second
    finally:
        both.close()


def test_translate_returns_a_png_of_the_input_size(server, model_dir):
    data = png(50, 37)
    status, kind, body = translate(server, data, "?mode=eval&seed=3")
    assert (status, kind) == (200, "image/png")
    output = Image.open(io.BytesIO(body))
    assert output.size == (50, 37)
    np.testing.assert_array_equal(np.asarray(output), expected_output(model_dir, data))


def test_paper_mode_with_a_seed_is_reproducible(server):
    data = png(32, 32, seed=5)
    first, second, other = (translate(server, data, f"?mode=paper&seed={seed}")[2] for seed in (7, 7, 8))
    assert first == second != other


@pytest.mark.parametrize("query, body, status, words", [
    ("", b"", 400, "no body"),
    ("", b"not an image at all", 415, "not an image file"),
    ("", png(8, 8)[:50], 415, "cannot decode image the upload"),  # a header, then truncated
    ("?model=nope", png(8, 8), 404, "unknown model 'nope'"),
    ("?mode=fast", png(8, 8), 400, "mode must be paper or eval"),
    ("?seed=abc", png(8, 8), 400, "seed must be an integer"),
    ("?size=3", png(8, 8), 400, "unknown parameter(s) size"),
], ids=["empty", "not-an-image", "truncated", "unknown-model", "bad-mode", "bad-seed", "unknown-parameter"])
def test_bad_requests_get_one_json_error(server, query, body, status, words):
    code, kind, reply = translate(server, body, query)
    assert (code, kind) == (status, "application/json")
    assert words in json.loads(reply)["error"]


def test_unknown_paths_are_json_404s(server):
    for path in ("nothing", "static/../serve.py", "static/secret.txt"):
        code, kind, reply = request(f"{server.url}{path}")
        assert (code, kind) == (404, "application/json") and "not found" in json.loads(reply)["error"]


def test_byte_and_pixel_limits_are_413(model_dir):
    limited = start(model_dir, Limits(max_bytes=2000, max_pixels=400, queue_size=2))
    try:
        code, _, reply = translate(limited, png(40, 40))
        assert code == 413 and "limit is 2000 bytes" in json.loads(reply)["error"]
        flat = io.BytesIO()
        Image.new("RGB", (30, 30)).save(flat, format="PNG")  # small file, 900 pixels
        code, _, reply = translate(limited, flat.getvalue())
        assert code == 413 and "30x30 = 900 pixels; the limit is 400" in json.loads(reply)["error"]
        assert translate(limited, png(20, 20))[0] == 200
    finally:
        limited.close()


def test_a_full_queue_answers_503_and_queued_requests_finish(model_dir):
    busy = start(model_dir, Limits(queue_size=1))
    worker = busy.workers["tiny"]
    started, release = threading.Event(), threading.Event()
    translate_now = worker.translator.translate

    def gated(image):
        started.set()
        release.wait(60)
        return translate_now(image)

    worker.translator.translate = gated
    try:
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(translate, busy, png(16, 16, 1))
            assert started.wait(60)
            waiting = pool.submit(translate, busy, png(16, 16, 2))
            for _ in range(6000):  # until the second request sits in the queue
                if worker.waiting == 1:
                    break
                threading.Event().wait(0.01)
            code, _, reply = translate(busy, png(16, 16, 3))
            assert code == 503 and "busy" in json.loads(reply)["error"]
            release.set()
            assert running.result()[0] == waiting.result()[0] == 200
    finally:
        release.set()
        busy.close()


def test_concurrent_requests_get_their_own_outputs(server, model_dir):
    inputs = [png(16 + 8 * (i % 3), 24 + 4 * (i % 2), seed=i) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda data: translate(server, data, "?mode=eval"), inputs))
    for data, (code, _, body) in zip(inputs, replies):
        assert code == 200
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(body))), expected_output(model_dir, data))


@pytest.mark.slow  # a fresh interpreter imports torch: seconds on a quiet machine
def test_cli_serves_warns_on_public_hosts_and_stops_on_ctrl_c(model_dir):
    process = subprocess.Popen([sys.executable, "-m", "i2i", "serve", str(model_dir), "--host", "0.0.0.0",
                                "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not (lines and lines[-1].startswith("Serving")):
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert any(line.startswith("Warning: --host 0.0.0.0") for line in lines)
        url = lines[-1].split(" on ")[1].split()[0]
        status, _, body = request(f"{url}api/models")
        assert status == 200 and json.loads(body)["models"][0]["name"] == str(model_dir)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        process.kill()
        process.stderr.close()


def test_cli_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines()[-1].startswith("Error: model not found:")


def canvas_colors(driver) -> set[tuple[int, int, int]]:
    data = driver.execute_script(
        "const c = document.getElementById('input-canvas');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);")
    return {tuple(data[i:i + 3]) for i in range(0, len(data), 4)}


def output_size(driver) -> list[int]:
    return driver.execute_script("const o = document.getElementById('output'); return [o.naturalWidth, o.naturalHeight];")


def test_page_draws_with_the_palette_and_translates(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser.get(server.url)
    wait_for_state(browser, "ready")
    for field, value in (("width", "45"), ("height", "30")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "clear").click()
    browser.find_element(By.CSS_SELECTOR, ".swatch[title=building]").click()
    canvas = browser.find_element(By.ID, "input-canvas")
    ActionChains(browser).move_to_element_with_offset(canvas, -40, -20).click_and_hold() \
        .move_by_offset(60, 30).move_by_offset(20, 0).release().perform()
    palette = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in ("#4682e6", "#dc2828")}
    assert canvas_colors(browser) == palette  # background and pen, no blended edges
    browser.find_element(By.ID, "translate").click()
    assert wait_for_state(browser, "done", "error") == "done", browser.find_element(By.ID, "status").text
    assert output_size(browser) == [45, 30]
    assert browser.find_element(By.ID, "download").get_attribute("href").startswith("blob:")


def test_page_uploads_an_image_and_shows_errors(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server.url)
    wait_for_state(browser, "ready")
    (tmp_path / "photo.png").write_bytes(png(33, 21))
    browser.find_element(By.ID, "upload").send_keys(str(tmp_path / "photo.png"))
    browser.find_element(By.ID, "translate").click()
    assert wait_for_state(browser, "done", "error") == "done"
    assert output_size(browser) == [33, 21]
    browser.execute_script("document.getElementById('seed').value = '1.5'")
    browser.find_element(By.ID, "translate").click()
    assert wait_for_state(browser, "error") == "error"
    assert "400: seed must be an integer" in browser.find_element(By.ID, "status").text
