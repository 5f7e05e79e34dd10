"""The model resolver: local paths, run dirs, a plugin's model source (winning over a Hub repo of that name)."""

import pytest
from click.testing import CliRunner
from hub_server import HubServer, use_hub
from test_modeldir import save, tiny_unet
from test_translator import error_line, write_images

import i2i
from i2i.cli import cli
from i2i.core.errors import DataError
from i2i.core.hookspecs import hookimpl
from i2i.core.plugin_manager import get_plugins, reset_plugins
from i2i.core.registry import Source
from i2i.models.resolver import fetch_model, registered_ids, resolve_model


class Shelf:
    """A model source offering ``shelf/<name>`` from a folder, counting fetches."""

    def __init__(self, folder):
        self.folder, self.fetched = folder, []

    def models(self):
        return {"tiny": "a tiny U-Net", "me": "shadows the Hub repo shelf/me"}

    def fetch(self, model):
        self.fetched.append(model)
        return self.folder / model


@pytest.fixture
def shelf(tmp_path):
    source = Shelf(tmp_path / "shelf")
    generator, args = tiny_unet()
    for name in source.models():
        save(source.folder / name, generator, "unet", args)

    class Plugin:
        @hookimpl
        def register_model_sources(self, register):
            register("shelf", source, description="test models")

    get_plugins().add(Plugin(), Source("shelf-test", "shelf-tests", "0"))
    yield source
    reset_plugins()


def test_a_registered_source_serves_every_command_that_takes_model(shelf, tmp_path, monkeypatch):
    assert {"shelf/tiny", "shelf/me"} <= set(registered_ids())
    assert resolve_model("shelf/tiny") == shelf.folder / "tiny"
    assert fetch_model("shelf/tiny") == shelf.folder / "tiny"
    assert i2i.load("shelf/tiny", device="cpu").config["generator"]["name"] == "unet"
    write_images(tmp_path / "in", ["a.png"], size=(32, 32))
    result = CliRunner().invoke(cli, ["translate", "shelf/tiny", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a.png").is_file()
    assert CliRunner().invoke(cli, ["pull", "shelf/tiny"]).stdout.strip() == str(shelf.folder / "tiny")
    monkeypatch.chdir(tmp_path)  # here shelf/tiny is also a local folder: the path wins, nothing is fetched
    served = len(shelf.fetched)
    assert resolve_model("shelf/tiny").resolve() == (shelf.folder / "tiny").resolve()
    assert len(shelf.fetched) == served


def test_a_registered_id_wins_over_a_hub_repo_and_other_ids_go_to_the_hub(shelf, tmp_path, monkeypatch):
    with HubServer() as hub:
        use_hub(monkeypatch, hub, tmp_path / "hf-home")
        assert resolve_model("shelf/me") == shelf.folder / "me"
        assert not hub.requests
        write_images(tmp_path / "in", ["a.png"])
        line = error_line(CliRunner().invoke(cli, ["translate", "shelf/absent", str(tmp_path / "in"), "-o",
                                                   str(tmp_path / "out")]))
        assert "shelf/absent is not a local folder, and no model repo shelf/absent" in line
        assert "(model source 'shelf' offers shelf/tiny, shelf/me)" in line  # a typo of a source's id: its ids


def test_what_is_not_a_model_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="model not found: nothing-here does not exist"):
        resolve_model("nothing-here")
    with pytest.raises(DataError, match="is not a Hub model id .* nor an id a model source offers"):
        fetch_model("nothing-here")
    with pytest.raises(DataError, match="neither an i2i model dir"):
        resolve_model(tmp_path)
    write_images(tmp_path / "in", ["a.png"])
    line = error_line(CliRunner().invoke(cli, ["translate", str(tmp_path), str(tmp_path / "in"), "-o",
                                               str(tmp_path / "out"), "--checkpoint", "best"]))
    assert "--checkpoint needs a run dir" in line
