"""`i2i study make/serve/analyze`: the static study, a browser run through its trials, and the analysis."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from click.testing import CliRunner
from conftest import wait_for_state
from test_serve import request, tiny_model_dir

from i2i.cli import cli
from i2i.core.errors import ConfigError, DataError
from i2i.web.study import RESPONSE_FIELDS, Protocol, make_study, model_labels, serve_study
from i2i.web.study_analysis import analyze, load_responses
from i2i_tasks.demo_data import synthesize

PROTOCOL = ["--practice", "2", "--trials", "4", "--catch", "2"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A study of two tiny models on 9 demo pairs: 2 practice + 4 test + 2 catch trials per participant."""
    root = tmp_path_factory.mktemp("study")
    synthesize(root / "data", "test", count=9, size=32)
    models = [tiny_model_dir(root / "l1" / "model"), tiny_model_dir(root / "cgan")]
    result = CliRunner().invoke(cli, ["study", "make", *map(str, models), "--data", str(root / "data"),
                                      "-o", str(root / "out"), *PROTOCOL, "-q"])
    assert result.exit_code == 0, result.output
    return root / "out"


def test_make_writes_a_self_contained_study(study):
    config = json.loads((study / "study.json").read_text())
    assert config["task"] == "demo" and config["split"] == "test" and len(config["images"]) == 9
    assert [m["name"] for m in config["models"]] == ["l1", "cgan"]
    assert config["protocol"] == {"practice": 2, "trials": 4, "catch": 2, "display_ms": 1000, "question": "fake"}
    assert (study / "config.js").read_text().startswith("window.I2I_STUDY = {")
    for folder in ("real", "catch", "l1", "cgan"):
        assert sorted(p.stem for p in (study / "images" / folder).iterdir()) == config["images"]
    html = (study / "index.html").read_text()
    assert 'src="config.js"' in html and "http" not in html  # nothing fetched from elsewhere


def test_a_split_too_small_for_the_protocol_is_a_clear_error(study, tmp_path):
    with pytest.raises(ConfigError, match=r"has 9 pair\(s\) to use.*need 51: lower --practice/--trials/--catch"):
        make_study([str(study.parent / "cgan")], None, tmp_path / "s", data=str(study.parent / "data"),
                   protocol=Protocol(practice=10, trials=40, catch=1), device="cpu")


def test_model_labels_are_short_and_unique():
    assert model_labels(["runs/demo-1", "runs/demo-1/model", "me/pix2pix@v1", "a/real"]) == [
        "demo-1", "demo-1-2", "pix2pix", "real-2"]


def run_participant(driver, url: str, choose) -> list[dict]:
    """Go through the whole study with ``choose(trial_index) -> 'left' | 'right'``; return the page's responses."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    wait_for_state(driver, "intro")
    driver.find_element(By.ID, "start").click()
    trial = 0
    while True:
        state = wait_for_state(driver, "choosing", "saved", "done")
        if state != "choosing":
            return driver.execute_script("return window.studyResponses")
        driver.find_element(By.ID, f"choose-{choose(trial)}").click()
        if wait_for_state(driver, "feedback", "showing", "loading", "choosing", "saved", "done") == "feedback":
            assert driver.find_element(By.ID, "feedback").text.startswith(("Correct!", "Wrong"))
            driver.find_element(By.ID, "next").click()
        trial += 1


def test_browser_study_through_the_server_then_analyze(browser, study, tmp_path):
    server = serve_study(study, port=0)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        sides = {}
        rows = run_participant(browser, f"{base}?display_ms=20&seed=1&participant=p1",
                               lambda i: sides.setdefault(i, "left" if i % 3 else "right"))
        assert browser.find_element("id", "saved").text == "Your responses are saved."
        status, _, _ = request(f"{base}responses/")
        assert status == 404  # answers are stored, never served
    finally:
        server.shutdown()
        server.server_close()
    (saved,) = (study / "responses").iterdir()
    stored = json.loads(saved.read_text())["responses"]
    assert stored == rows and len(rows) == 8
    assert Counter(r["phase"] for r in rows) == {"practice": 2, "test": 4, "catch": 2}
    assert len({r["image"] for r in rows}) == 8  # each image once
    assert Counter(r["model"] for r in rows if r["phase"] == "test") == {"l1": 2, "cgan": 2}
    assert [r["phase"] for r in rows[:2]] == ["practice", "practice"]
    for i, row in enumerate(rows):
        assert set(row) == set(RESPONSE_FIELDS) and row["participant"] == "p1" and row["display_ms"] == 20
        assert row["chosen_side"] == sides[i] and row["trial"] == i + 1
        assert row["correct"] == (row["chosen_side"] != row["real_side"])  # asked for the fake
        assert row["labelled_real"] == (not row["correct"])
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["study", "analyze", str(study / "responses"), "-o", str(out),
                                      "--min-catch", "0", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "study.json").read_text())
    for entry in report["results"]:
        mine = [r for r in rows if r["phase"] == "test" and r["model"] == entry["model"]]
        assert entry["labelled_real"] == sum(r["labelled_real"] for r in mine) / len(mine)
    assert "| Method | demo: % labelled real |" in (out / "study.md").read_text()


def test_browser_study_from_file_offers_downloads(browser, study):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    rows = run_participant(browser, f"{(study / 'index.html').as_uri()}?display_ms=20&seed=2", lambda i: "left")
    assert "download" in browser.find_element(By.ID, "saved").text
    browser.find_element(By.ID, "download-csv").click()
    browser.find_element(By.ID, "download-json").click()
    WebDriverWait(browser, 60).until(  # both downloads complete (no .crdownload left)
        lambda _: sorted(p.suffix for p in browser.downloads.glob("responses-*")) == [".csv", ".json"])
    (csv_file,), (json_file,) = browser.downloads.glob("*.csv"), browser.downloads.glob("*.json")
    assert json.loads(json_file.read_text())["responses"] == rows
    with open(csv_file, newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["image"] for row in table] == [row["image"] for row in rows]
    # The same session in both files counts once.
    assert len(load_responses([csv_file, json_file])) == len(rows) == 8


def answers(session: str, test: list[tuple[str, bool]], catch: list[bool]) -> list[dict]:
    rows = [{"task": "maps", "session": session, "trial": i + 1, "phase": "test", "model": model,
             "correct": correct} for i, (model, correct) in enumerate(test)]
    return rows + [{"task": "maps", "session": session, "trial": 100 + i, "phase": "catch", "model": "catch",
                    "correct": ok} for i, ok in enumerate(catch)]


def test_analysis_excludes_failed_catch_trials_and_bootstraps_participants():
    rows = (answers("a", [("l1", True), ("l1", False), ("cgan", False), ("cgan", False)], [True, True])
            + answers("b", [("l1", True), ("l1", True), ("cgan", True), ("cgan", False)], [True, False, True, True, True])
            + answers("c", [("l1", False), ("l1", False), ("cgan", False), ("cgan", False)], [False, False]))
    report = analyze(rows, min_catch=0.8, resamples=500, seed=1)
    assert report["excluded"] == ["c"] and report["participants"] == 3
    by_model = {r["model"]: r for r in report["results"]}
    assert by_model["l1"]["labelled_real"] == 0.25 and by_model["cgan"]["labelled_real"] == 0.75
    low, high = by_model["cgan"]["ci95"]
    assert 0.5 <= low <= 0.75 <= high <= 1.0 and by_model["cgan"]["participants"] == 2
    with pytest.raises(DataError, match="no test trials left"):
        analyze(rows, min_catch=1.01)


def test_analyze_rejects_files_that_are_not_responses(tmp_path):
    (tmp_path / "bad.json").write_text('{"responses": [{"phase": "test"}]}')
    result = CliRunner().invoke(cli, ["study", "analyze", str(tmp_path / "bad.json"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "lacks task, session, trial, model, correct" in result.output.splitlines()[-1]


def test_study_server_rejects_bad_answers(study):
    server = serve_study(study, port=0)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for body, words in ((b"not json", "not JSON"), (b'{"responses": []}', "at least one row"),
                            (json.dumps({"responses": [{"session": "x"}]}).encode(), "exactly the fields")):
            status, kind, reply = request(f"{base}responses", body, {"Content-Type": "application/json"})
            assert (status, kind) == (400, "application/json") and words in json.loads(reply)["error"]
        assert request(f"{base}../study.py")[0] == 404
        assert request(base)[0] == 200
    finally:
        server.shutdown()
        server.server_close()
