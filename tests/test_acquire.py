"""Task data in the cache: mirrors, download → verify → extract → publish, trust on first use, the lock,
manual preparation, `i2i data`, and `i2i train` on the result."""

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from archive_server import FileServer, pairs_archive, read_split, split_pairs
from click.testing import CliRunner
from conftest import make_distribution

from i2i.cli import cli
from i2i.core.errors import DataError
from i2i.core.hookspecs import hookimpl
from i2i.core.plugin_manager import get_plugins, reset_plugins
from i2i.core.registry import Source
from i2i.core.task import DataSource, Task
from i2i.data.archive import extract
from i2i.data.fetch import MIRROR_ENV, get_task_data, prepare_from, source_url
from i2i.data.location import COMPLETE, read_marker, task_data_root

TASK_MODULE = '''
from i2i.core.hookspecs import hookimpl
from i2i.core.task import DataSource, Recipe, Task

TINY = Task(name="tiny", description="tiny facades-like test task", direction="BtoA",
            recipe=Recipe(epochs=1, epochs_decay=0, load_size=36, crop_size=32),
            sources=(DataSource("url", "tiny.tar.gz"),))


@hookimpl
def register_tasks(register):
    register("tiny", TINY, description="tiny test task")
'''
namespace: dict = {}
exec(TASK_MODULE, namespace)
TINY: Task = namespace["TINY"]
SPLITS = split_pairs()
ARCHIVE = pairs_archive("tiny", SPLITS)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    return tmp_path / "home"


@pytest.fixture
def server(monkeypatch):
    with FileServer({"/tiny.tar.gz": ARCHIVE}) as running:
        monkeypatch.setenv(MIRROR_ENV, running.url + "/")
        yield running


@pytest.fixture
def tiny_registered():
    """The tiny task in this process's registry (as a plugin), removed afterwards."""
    class Plugin:
        @hookimpl
        def register_tasks(self, register):
            register("tiny", TINY)

    get_plugins().add(Plugin(), Source("tiny-test", "tiny-tests", "0"))
    yield
    reset_plugins()


def assert_same_pairs(root):
    for split, pairs in SPLITS.items():
        images = read_split(root, split)
        assert len(images) == len(pairs)
        for image, (a, b) in zip(images, pairs):
            assert np.abs(image.astype(int) - np.concatenate([a, b], axis=1)).mean() < 3  # JPEG


def test_source_urls_join_the_base_and_take_the_mirror(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    base = "http://archives.example/p2p/datasets/"
    assert source_url("facades.tar.gz", base) == base + "facades.tar.gz"
    assert source_url(base + "maps.tar.gz", base, "https://mirror.example/p2p") == "https://mirror.example/p2p/maps.tar.gz"
    assert source_url("https://other.example/x.zip", base, "https://mirror.example/") == "https://other.example/x.zip"
    assert source_url("https://other.example/x.zip", "", "https://mirror.example/") == "https://other.example/x.zip"
    monkeypatch.setenv(MIRROR_ENV, "http://127.0.0.1:1/m/")
    assert source_url("facades.tar.gz", base) == "http://127.0.0.1:1/m/facades.tar.gz"
    assert source_url("facades.tar.gz") == "http://127.0.0.1:1/m/facades.tar.gz"


def test_the_paper_tasks_name_their_archive_server(monkeypatch, home):
    """The core knows no archive server: the paper's tasks give theirs, and a relative location without
    one (and no mirror) is one clear error."""
    from i2i_tasks.paper import DATASETS_BASE

    monkeypatch.delenv(MIRROR_ENV, raising=False)
    facades = get_plugins().registry.resolve("tasks", "facades")
    assert facades.sources[0].base == DATASETS_BASE == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
    assert dict(facades.sources[1].split_sizes) == {"train": 400, "val": 100, "test": 106}
    orphan = Task(name="orphan", description="", sources=(DataSource("url", "orphan.tar.gz"),))
    with pytest.raises(DataError, match="relative path without a base URL; set I2I_DATA_MIRROR"):
        get_task_data(orphan, progress=False)


def test_get_downloads_verifies_extracts_and_publishes_once(home, server):
    root = get_task_data(TINY, progress=False)
    assert root == home / "data" / "tiny" and (root / COMPLETE).is_file()
    assert sorted(p.name for p in root.iterdir()) == [COMPLETE, "test", "train", "val"]
    assert_same_pairs(root)
    manifest = json.loads((home / "manifest.json").read_text())
    digest = manifest["archives"]["tiny.tar.gz"]["sha256"]
    marker = read_marker(root)
    assert marker["sha256"] == digest and marker["files"] == 7 and marker["location"] == server.url + "/tiny.tar.gz"
    assert list((home / "downloads").iterdir()) == []  # the archive is deleted once extracted
    assert get_task_data(TINY, progress=False) == root and task_data_root(TINY) == root
    assert len(server.gets("/tiny.tar.gz")) == 1


def test_trust_on_first_use_rejects_a_changed_archive(home, server):
    get_task_data(TINY, progress=False)
    (home / "data" / "tiny" / COMPLETE).unlink()  # as if never finished: fetch again
    server.files["/tiny.tar.gz"] = pairs_archive("tiny", split_pairs(seed=1))
    with pytest.raises(DataError, match="checksum mismatch.*deleted the download.*recorded on first download"):
        get_task_data(TINY, progress=False)
    assert list((home / "downloads").iterdir()) == []
    with pytest.raises(DataError, match="run `i2i data get tiny`"):
        task_data_root(TINY)


def test_a_half_built_copy_is_never_used_and_gets_replaced(home, server):
    half = home / "data" / "tiny" / "train"
    half.mkdir(parents=True)
    (half / "1.jpg").write_bytes(b"truncated")
    stale = home / "data" / ".tiny.building-99999"
    stale.mkdir()
    with pytest.raises(DataError, match="no data for task 'tiny'.*i2i data get tiny.*--data DIR"):
        task_data_root(TINY)
    assert_same_pairs(get_task_data(TINY, progress=False))
    assert not stale.exists()


def test_unreachable_sources_fail_in_one_line_naming_url_mirror_and_manual_option(home, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, "http://127.0.0.1:9/mirror")
    with pytest.raises(DataError) as caught:
        get_task_data(TINY, progress=False)
    message = str(caught.value)
    assert "\n" not in message and "http://127.0.0.1:9/mirror/tiny.tar.gz" in message
    assert MIRROR_ENV in message and "i2i data prepare tiny --from" in message and "--data DIR" in message
    with pytest.raises(DataError, match="has no hub source"):
        get_task_data(TINY, kind="hub")


def test_sources_are_tried_in_order(home, server):
    task = Task(name="tiny", description="", sources=(DataSource("url", "gone.tar.gz"), *TINY.sources))
    said = []
    assert_same_pairs(get_task_data(task, progress=False, announce=said.append))
    assert any("HTTP 404" in line and "trying the next source" in line for line in said)


def test_prepare_from_an_archive_or_a_folder(home, tmp_path):
    archive = tmp_path / "manual.tar.gz"
    archive.write_bytes(ARCHIVE)
    root = prepare_from(TINY, archive)
    assert_same_pairs(root)
    assert archive.is_file()  # the user's file stays
    assert read_marker(root)["source"] == "local"
    copy = prepare_from(TINY, extract(archive, tmp_path / "unpacked"))
    assert_same_pairs(copy)
    assert read_marker(copy)["location"] == str(tmp_path / "unpacked")
    with pytest.raises(DataError, match="no train/, val/, test/ folder"):
        prepare_from(TINY, tmp_path / "home" / "locks")


def test_cli_get_list_info_then_train_without_data(home, server, tiny_registered, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "get", "tiny", "-q"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"tiny: {home / 'data' / 'tiny'}"
    listing = runner.invoke(cli, ["data", "list"]).output
    assert any(line.startswith("tiny") and "cached" in line and "KiB" in line for line in listing.splitlines())
    info = runner.invoke(cli, ["data", "info", "tiny"]).output
    assert "recorded on first download" in info and f"{server.url}/tiny.tar.gz" in info
    result = runner.invoke(cli, ["train", "--task", "tiny", "--epochs", "1", "--epochs-decay", "0", "--crop-size", "32",
                                 "--load-size", "36", "--gen-arg", "ngf=8", "--disc-arg", "ndf=8", "--quiet",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "config.json").is_file()


def test_two_processes_fetching_at_once_make_one_copy(home, server, tmp_path):
    site = make_distribution(tmp_path / "site", "tiny-tasks", "1.0", {"tiny": "tiny_tasks"}, {"tiny_tasks": TASK_MODULE})
    env = {**os.environ, "PYTHONPATH": str(site), "I2I_PLUGINS": "tiny"}
    command = [sys.executable, "-m", "i2i", "data", "get", "tiny"]
    server.gate.clear()  # the first download stalls until the second process waits for the lock
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, first.kill)
    watchdog.start()
    assert first.stderr.readline().startswith("downloading ")
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second_watchdog = threading.Timer(60, second.kill)
    second_watchdog.start()
    assert second.stderr.readline().startswith("waiting for another i2i process working on tiny")
    server.gate.set()
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    watchdog.cancel(), second_watchdog.cancel()
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == [f"tiny: {home / 'data' / 'tiny'}"] * 2
    assert len(server.gets("/tiny.tar.gz")) == 1
    assert sorted(p.name for p in (home / "data").iterdir()) == ["tiny"]
    assert_same_pairs(home / "data" / "tiny")


def test_facades_from_a_mirror_then_train(home, monkeypatch, tmp_path):
    with FileServer({"/facades.tar.gz": pairs_archive("facades", SPLITS)}) as mirror:
        monkeypatch.setenv(MIRROR_ENV, mirror.url)
        result = CliRunner().invoke(cli, ["data", "get", "facades", "--source", "url", "-q"])
    assert result.exit_code == 0, result.output
    assert_same_pairs(home / "data" / "facades")
    result = CliRunner().invoke(cli, ["train", "--task", "facades", "--epochs", "1", "--epochs-decay", "0",
                                      "--crop-size", "32", "--load-size", "36", "--gen-arg", "ngf=8",
                                      "--disc-arg", "ndf=8", "--quiet", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output


def test_a_checksum_mismatch_stops_instead_of_falling_through_to_another_source(home, server):
    get_task_data(TINY, progress=False)
    (home / "data" / "tiny" / COMPLETE).unlink()
    server.files["/tiny.tar.gz"] = pairs_archive("tiny", split_pairs(seed=1))  # tampered
    server.files["/spare.tar.gz"] = ARCHIVE
    task = Task(name="tiny", description="", sources=(*TINY.sources, DataSource("url", "spare.tar.gz")))
    said = []
    with pytest.raises(DataError, match="checksum mismatch.*not trying tiny's other sources"):
        get_task_data(task, progress=False, announce=said.append)
    assert server.gets("/spare.tar.gz") == [] and not any("trying the next source" in line for line in said)
