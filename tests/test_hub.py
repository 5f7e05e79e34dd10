"""Hub push/pull against a local Hub-compatible server: one commit, pinned revisions, tokens, offline, cards."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from conftest import run_i2i
from hub_server import TOKEN, HubServer, set_offline, use_hub
from huggingface_hub import ModelCard
from PIL import Image
from safetensors.torch import load_file, save_file
from test_modeldir import save, tiny_unet
from test_translator import error_line, write_images

from i2i.cli import cli
from i2i.core.errors import DataError
from i2i.models.modelcard import write_model_card
from i2i.models.resolver import resolve_model


# huggingface_hub's own LFS upload passes a file as `data=`, which httpx2 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with HubServer() as server:
        server.env = use_hub(monkeypatch, server, tmp_path / "hf-home")
        yield server


def model_dir(path, seed: int = 0, task: str = "demo"):
    generator, args = tiny_unet()
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.add_(seed / 10)
    return write_model_card(save(path, generator, "unet", args, task=task, epochs=2))


def i2i(*args: str):
    return CliRunner().invoke(cli, list(args))


def push(source, repo: str, *extra: str):
    result = i2i("push", str(source), repo, "--token", TOKEN, *extra)
    assert result.exit_code == 0, result.output
    return result


def pull(spec: str, *extra: str):
    result = i2i("pull", spec, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def translate(model: str, inputs, out) -> bytes:
    result = i2i("translate", model, str(inputs), "-o", str(out), "--mode", "eval", "-q")
    assert result.exit_code == 0, result.output
    return (out / "a.png").read_bytes()


def test_push_pull_translate_matches_the_local_model(hub, tmp_path):
    local = model_dir(tmp_path / "m")
    push(local, "me/tiny")
    history = hub.history("me/tiny")
    assert len(history) == 2  # the repo's initial commit, then one commit with every file
    assert hub.requests.count(("POST", "/api/models/me/tiny/commit/main")) == 1
    for name in ("config.json", "model.safetensors", "README.md"):
        assert hub.file("me/tiny", name) == (local / name).read_bytes()
    path = pull("me/tiny")
    assert path.startswith(hub.env["HF_HUB_CACHE"]) and path.endswith(history[-1])
    write_images(tmp_path / "in", ["a.png"], size=(21, 13))
    assert translate("me/tiny", tmp_path / "in", tmp_path / "hub") == translate(str(local), tmp_path / "in",
                                                                                 tmp_path / "local")


def test_a_pinned_revision_pulls_that_commit(hub, tmp_path):
    push(model_dir(tmp_path / "first", seed=0), "me/tiny")
    first = hub.history("me/tiny")[-1]
    push(model_dir(tmp_path / "second", seed=1), "me/tiny")
    assert len(hub.history("me/tiny")) == 3
    pinned, latest = pull(f"me/tiny@{first}"), pull("me/tiny")
    weights = "model.safetensors"
    assert torch.equal(load_file(f"{pinned}/{weights}")["encoder.0.conv.weight"],
                       load_file(tmp_path / "first" / weights)["encoder.0.conv.weight"])
    assert torch.equal(load_file(f"{latest}/{weights}")["encoder.0.conv.weight"],
                       load_file(tmp_path / "second" / weights)["encoder.0.conv.weight"])
    assert "has no revision 'nope'" in error_line(i2i("pull", "me/tiny@nope"))


def test_tokens_and_missing_repos_are_one_line_errors(hub, tmp_path):
    local = model_dir(tmp_path / "m")
    line = error_line(i2i("push", str(local), "me/tiny", "--token", "hf_bad"))
    assert "rejected the token (401 Unauthorized)" in line
    assert "me/tiny" not in {repo_id for _, repo_id in hub.repos}
    assert "needs a token for this: pass --token" in error_line(i2i("push", str(local), "me/tiny"))
    line = error_line(i2i("pull", "me/absent"))
    assert "no model repo me/absent" in line and hub.url in line
    write_images(tmp_path / "in", ["a.png"])
    line = error_line(i2i("translate", "me/absent", str(tmp_path / "in"), "-o", str(tmp_path / "o")))
    assert "me/absent is not a local folder, and no model repo" in line
    assert "not a Hub model id" in error_line(i2i("pull", "not-an-id"))


def test_offline_works_from_the_cache_and_says_when_a_model_is_missing(hub, monkeypatch, tmp_path):
    push(model_dir(tmp_path / "m"), "me/tiny")
    path = pull("me/tiny")
    set_offline(monkeypatch)
    served = len(hub.requests)
    assert pull("me/tiny") == path
    write_images(tmp_path / "in", ["a.png"])
    translate("me/tiny", tmp_path / "in", tmp_path / "out")
    assert len(hub.requests) == served
    line = error_line(i2i("translate", "me/other", str(tmp_path / "in"), "-o", str(tmp_path / "o")))
    assert "HF_HUB_OFFLINE is set and me/other is not in the Hugging Face cache" in line
    line = error_line(i2i("push", str(tmp_path / "m"), "me/tiny"))
    assert "HF_HUB_OFFLINE is set: pushing me/tiny" in line and "needs the network" in line
    env = {**hub.env, "HF_HUB_OFFLINE": "1"}  # a fresh process reads the environment variables
    assert run_i2i("pull", "me/tiny", env=env).stdout.strip() == path
    missing = run_i2i("pull", "me/other", env=env)
    assert missing.returncode == 1 and missing.stderr.count("Error:") == 1
    assert "HF_HUB_OFFLINE is set" in missing.stderr


def test_run_dir_with_training_state_to_a_private_branch(hub, tmp_path):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    Image.new("RGB", (8, 4), "red").save(run / "samples" / "epoch_0001.png")
    Image.new("RGB", (8, 4), "blue").save(run / "samples" / "epoch_0002.png")
    model_dir(run / "model")
    write_model_card(run / "model", samples=run / "samples")
    (run / "checkpoints").mkdir()
    save_file({"step": torch.zeros(1)}, run / "checkpoints" / "latest.safetensors")
    (run / "config.json").write_text(json.dumps({"task": "demo"}))
    push(run, "me/run", "--private", "--revision", "dev", "--with-training-state")
    assert hub.repo("me/run").private
    dev = hub.repo("me/run").commit_at("dev").files
    assert set(dev) == {".gitattributes", "README.md", "config.json", "model.safetensors", "samples.png",
                        "training/latest.safetensors", "training/config.json"}
    assert dev["samples.png"] == (run / "samples" / "epoch_0002.png").read_bytes()
    assert set(hub.repo("me/run").commit_at("main").files) == {".gitattributes"}
    assert "no model repo me/run" in error_line(i2i("pull", "me/run@dev"))  # private: needs the token
    path = pull("me/run@dev", "--token", TOKEN)
    assert sorted(p.name for p in resolve_model(path).iterdir()) == [
        "README.md", "config.json", "model.safetensors", "samples.png"]  # the training state stays on the Hub
    assert "needs a run dir" in error_line(i2i("push", str(run / "model"), "me/run", "--token", TOKEN,
                                               "--with-training-state"))


def test_model_card_metadata_usage_and_sample(tmp_path):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    Image.new("RGB", (8, 4)).save(run / "samples" / "epoch_0003.png")
    model_dir(run / "model")
    write_model_card(run / "model", samples=run / "samples")
    card = ModelCard.load(run / "model" / "README.md")
    assert card.data.library_name == "i2i" and card.data.pipeline_tag == "image-to-image"
    assert {"pix2pix", "gan", "demo"} <= set(card.data.tags)
    assert card.data.metrics == ["l1", "psnr", "ssim"]
    assert "![Sample grid" in card.text and "(samples.png)" in card.text
    assert "i2i translate MODEL input.png" in card.text and "i2i.load(" in card.text


def test_a_model_dir_without_card_gets_one_and_a_local_path_wins(hub, tmp_path, monkeypatch):
    local = model_dir(tmp_path / "me" / "tiny")
    (local / "README.md").unlink()
    push(local, "me/tiny")
    card = hub.file("me/tiny", "README.md").decode()
    assert "library_name: i2i" in card and "i2i translate me/tiny" in card
    monkeypatch.chdir(tmp_path)
    served = len(hub.requests)
    assert resolve_model("me/tiny").resolve() == local.resolve()
    assert len(hub.requests) == served


def test_a_repo_without_an_i2i_config_is_refused(hub):
    hub.add_files("me/notes", {"README.md": "# notes\n", "model.py": "raise SystemExit('never run')\n"})
    assert "not an i2i model" in error_line(i2i("pull", "me/notes"))
    with pytest.raises(DataError, match="does not exist"):
        resolve_model("/no/such/model")


def test_dataset_repos_are_served_too(hub):
    from huggingface_hub import HfApi, snapshot_download

    files = {"data/train.parquet": b"PAR1\0rows", "README.md": "---\n---\n"}
    oid = hub.add_files("me/pairs", files, repo_type="dataset")
    files = {entry.path for entry in HfApi().list_repo_tree("me/pairs", repo_type="dataset", recursive=True)}
    assert files == {".gitattributes", "README.md", "data", "data/train.parquet"}
    assert HfApi().dataset_info("me/pairs").sha == oid
    path = snapshot_download("me/pairs", repo_type="dataset")
    assert open(f"{path}/data/train.parquet", "rb").read() == b"PAR1\0rows"


def test_push_sends_only_the_model_files_and_never_follows_a_link_out(hub, tmp_path):
    local = model_dir(tmp_path / "m")
    (local / "secrets.env").write_text("HF_TOKEN=hf_secret\n")
    (local / ".hidden").write_text("x")
    (local / "extra").mkdir()
    (local / "extra" / "notes.txt").write_text("notes")
    dry = i2i("push", str(local), "me/tiny", "--token", TOKEN, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "uploading 3 files to me/tiny" in dry.stderr and "model.safetensors" in dry.stderr
    assert "not uploaded (add with --include): .hidden, extra, secrets.env" in dry.stderr
    assert not any(path.startswith("/api/models/me/tiny") for _, path in hub.requests)
    push(local, "me/tiny", "--include", "extra/*.txt")
    assert set(hub.repo("me/tiny").commit_at("main").files) == {
        ".gitattributes", "README.md", "config.json", "model.safetensors", "extra/notes.txt"}
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (local / "samples.png").symlink_to(secret)
    line = error_line(i2i("push", str(local), "me/tiny", "--token", TOKEN))
    assert "refusing to push" in line and "samples.png" in line and "outside" in line
    (local / "samples.png").unlink()
    (local / "linked.txt").symlink_to(secret)
    assert "outside" in error_line(i2i("push", str(local), "me/tiny", "--token", TOKEN, "--include", "*.txt"))
    assert "matches no file" in error_line(i2i("push", str(local), "me/tiny", "--token", TOKEN, "--include", "*.bin"))
    assert "without '..'" in error_line(i2i("push", str(local), "me/tiny", "--token", TOKEN, "--include", "../*"))
    assert b"password" not in b"".join(hub.file("me/tiny", name) for name in hub.repo("me/tiny").commit_at("main").files)
