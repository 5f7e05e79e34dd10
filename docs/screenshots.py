"""Make the README's screenshots of `i2i serve` and `i2i study` with headless chromium.

    python docs/screenshots.py runs/demo-YYYYMMDD-HHMMSS      # a model trained on the demo task

Writes docs/serve.png (a demo label map, uploaded, drawn over and translated) and docs/study.png (a
study trial while its pair is shown), each reduced to a small palette PNG. Needs selenium and Debian's
chromium + chromium-driver, as the browser tests do.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))

from conftest import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, wait_for_state  # noqa: E402


def browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def save_small(driver, path: Path, height: int) -> None:
    """A screenshot of the top ``height`` pixels (at most the viewport), quantised to 256 colours."""
    shot = path.with_suffix(".full.png")
    driver.execute_script("window.scrollTo(0, 0)")
    height = min(height, driver.execute_script("return window.innerHeight"))
    driver.save_screenshot(str(shot))
    with Image.open(shot) as image:
        image.crop((0, 0, image.width, height)).quantize(256).save(path, optimize=True)
    shot.unlink()
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def serve_screenshot(driver, model: str, label_map: Path, out: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from i2i.models.translator import Translator
    from i2i.web.serve import TranslationServer, task_palette

    translator = Translator.load(model, device="cpu", seed=0)
    server = TranslationServer({model: translator}, port=0, palettes={model: task_palette(translator.config["task"])})
    try:
        driver.get(server.url)
        wait_for_state(driver, "ready")
        driver.find_element(By.ID, "upload").send_keys(str(label_map))
        driver.find_element(By.CSS_SELECTOR, ".swatch[title=tree]").click()
        driver.execute_script("document.getElementById('brush').value = 6")
        canvas = driver.find_element(By.ID, "input-canvas")
        ActionChains(driver).move_to_element_with_offset(canvas, -120, 60).click_and_hold() \
            .move_by_offset(40, 20).move_by_offset(40, -10).release().perform()
        driver.find_element(By.ID, "translate").click()
        assert wait_for_state(driver, "done", "error") == "done", driver.find_element(By.ID, "status").text
        save_small(driver, out, 600)
    finally:
        server.close()


def study_screenshot(driver, model: str, data: Path, folder: Path, out: Path) -> None:
    from selenium.webdriver.common.by import By

    from i2i.web.study import Protocol, make_study, serve_study

    make_study([model], None, folder, data=str(data), protocol=Protocol(practice=2, trials=4, catch=2), device="cpu")
    server = serve_study(folder, port=0)
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/?display_ms=600000&seed=3")
        wait_for_state(driver, "intro")
        driver.find_element(By.ID, "start").click()
        wait_for_state(driver, "showing")
        save_small(driver, out, 420)
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model trained on the demo task (run dir or model dir)")
    parser.add_argument("-o", "--out", type=Path, default=DOCS, help="folder for serve.png and study.png")
    args = parser.parse_args()

    from i2i.models.modeldir import load_config
    from i2i_tasks.demo_data import synthesize

    size = load_config(args.model)["train_size"]["load_size"]  # scenes at the scale the model learnt
    with tempfile.TemporaryDirectory(prefix="i2i-screenshots-") as tmp:
        tmp = Path(tmp)
        (pair,) = synthesize(tmp / "data", "test", count=8, size=size)[3:4]
        with Image.open(pair) as image:
            image.crop((0, 0, image.width // 2, image.height)).save(tmp / "labels.png")
        driver = browser(tmp / "profile")
        driver.set_window_size(1000, 760)
        try:
            serve_screenshot(driver, args.model, tmp / "labels.png", args.out / "serve.png")
            study_screenshot(driver, args.model, tmp / "data", tmp / "study", args.out / "study.png")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
