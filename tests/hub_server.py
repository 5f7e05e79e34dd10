"""A local Hugging Face Hub-compatible server for tests (model and dataset repos) on 127.0.0.1.

It serves what the installed huggingface_hub calls (read from its source) to create repos and branches,
commit (preupload, LFS batch + PUT + verify, ndjson commit, YAML validation) and download (repo info,
tree listing, HEAD/GET ``resolve`` with ``X-Repo-Commit``, ``ETag``/``X-Linked-Etag`` and sizes): see
``_ROUTES``. Writes need ``Authorization: Bearer <token>`` with one of ``tokens``; an unknown token is a
401. Tests pre-load repos with :meth:`HubServer.add_files` and point the client here with :func:`use_hub`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

TOKEN = "hf_i2i_test_write_token"
LFS_MIN_SIZE = 10 * 1024 * 1024  # like the Hub: large or binary files go through LFS
_TYPES = {"models": "model", "datasets": "dataset"}
_PREFIX = {"model": "", "dataset": "datasets/"}


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(sample: bytes, size: int) -> bool:
    """Whether a file of ``size`` bytes starting with ``sample`` goes through LFS (as the Hub decides)."""
    return size >= LFS_MIN_SIZE or b"\0" in sample[:512]


def file_oid(data: bytes) -> str:
    """What the client compares a file with (preupload ``oid``, download ``ETag``): sha256 for LFS, else the git oid."""
    return hashlib.sha256(data).hexdigest() if is_lfs(data, len(data)) else git_blob_oid(data)


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, bytes]  # the whole tree at this commit


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def commit_at(self, revision: str) -> Commit | None:
        return self.commits.get(self.branches.get(revision, revision))


class Refused(Exception):
    """An HTTP error answer: status, message and the Hub's error headers."""

    def __init__(self, status: int, message: str, code: str | None = None, commit: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.commit = status, code, commit


class HubServer:
    """The Hub's state (repos, LFS objects) and a threaded HTTP server on 127.0.0.1 serving it."""

    def __init__(self, tokens: tuple[str, ...] = (TOKEN,)) -> None:
        self.tokens = set(tokens)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._counter = 0
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self._http.hub = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> "HubServer":
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def create_repo(self, repo_id: str, repo_type: str = "model", private: bool = False) -> Repo:
        """A new repo with an initial commit holding ``.gitattributes``, as the Hub makes it."""
        with self.lock:
            repo = self.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, private)
            self.commit(repo, "main", "initial commit", {".gitattributes": b"*.safetensors filter=lfs\n"})
            return repo

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        with self.lock:
            if (repo_type, repo_id) not in self.repos:
                raise Refused(404, "Repository not found", "RepoNotFound")
            return self.repos[(repo_type, repo_id)]

    def commit(self, repo: Repo, branch: str, message: str, changes: dict[str, bytes | None]) -> str:
        """Apply ``changes`` (``None`` deletes) on top of ``branch`` as one new commit; return its oid."""
        with self.lock:
            parent = repo.commit_at(branch) if branch in repo.branches else None
            if repo.branches and parent is None:
                raise Refused(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            files = dict(parent.files) if parent else {}
            files.update(changes)
            files = {path: data for path, data in files.items() if data is not None}
            self._counter += 1
            oid = hashlib.sha1(f"{repo.repo_id}:{self._counter}:{message}".encode()).hexdigest()
            repo.commits[oid] = Commit(oid, message, files)
            repo.branches[branch] = oid
            return oid

    def add_files(self, repo_id: str, files: dict[str, bytes | str | Path], *, repo_type: str = "model",
                  revision: str = "main", message: str = "add files", private: bool = False) -> str:
        """Commit ``files`` (bytes, text or a local file's path) into a repo, creating it; return the commit oid."""
        with self.lock:
            repo = self.repos.get((repo_type, repo_id)) or self.create_repo(repo_id, repo_type, private)
            if revision not in repo.branches:
                repo.branches[revision] = repo.branches["main"]
            data = {path: content.read_bytes() if isinstance(content, Path) else
                    content.encode() if isinstance(content, str) else content for path, content in files.items()}
            for content in data.values():
                self.lfs_objects[hashlib.sha256(content).hexdigest()] = content
            return self.commit(repo, revision, message, dict(data))

    def file(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "model") -> bytes:
        return self.repo(repo_id, repo_type).commit_at(revision).files[path]

    def history(self, repo_id: str, repo_type: str = "model") -> list[str]:
        """Commit oids of a repo, oldest first."""
        return list(self.repo(repo_id, repo_type).commits)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined]

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers)

    def _token(self, write: bool, repo: Repo | None = None) -> None:
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else None
        if token is not None and token not in self.hub.tokens:
            raise Refused(401, "Invalid credentials in Authorization header")
        if token is None and (write or (repo is not None and repo.private)):
            raise Refused(401, "Repository not found" if repo is not None and not write else "Unauthorized",
                           "RepoNotFound" if repo is not None and not write else None)

    def _repo(self, groups: dict, write: bool = False) -> Repo:
        repo_type = _TYPES[groups["type"]] if groups.get("type") else "dataset" if groups.get("prefix") else "model"
        try:
            repo = self.hub.repo(unquote(groups["repo"]), repo_type)
        except Refused:
            self._token(write)
            raise
        self._token(write, repo)
        return repo

    def _commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.commit_at(unquote(revision))
        if commit is None:
            raise Refused(404, f"Invalid rev id: {unquote(revision)}", "RevisionNotFound")
        return commit

    def _route(self) -> None:
        url = urlsplit(self.path)
        self.hub.requests.append((self.command, url.path))
        for method, pattern, action in _ROUTES:
            match = re.fullmatch(pattern, url.path)
            if method == self.command.replace("HEAD", "GET") and match:
                try:
                    with self.hub.lock:
                        action(self, match.groupdict(), parse_qs(url.query))
                except Refused as exc:
                    headers = {"X-Error-Message": str(exc)}
                    headers.update({"X-Error-Code": exc.code} if exc.code else {})
                    headers.update({"X-Repo-Commit": exc.commit} if exc.commit else {})
                    self._json({"error": str(exc)}, exc.status, headers)
                return
        self._body()
        self._json({"error": f"not found: {self.command} {url.path}"}, 404)

    do_GET = do_HEAD = do_POST = do_PUT = _route

    def create_repo(self, groups, query) -> None:
        self._token(write=True)
        payload = json.loads(self._body())
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        repo_type = payload.get("type") or "model"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        answer = {"url": f"{self.hub.url}/{_PREFIX[repo_type]}{repo_id}", "name": repo_id}
        if (repo_type, repo_id) in self.hub.repos:  # the Hub answers 409 with the url, which exist_ok uses
            return self._json({**answer, "error": "You already created this repo"}, 409)
        self.hub.create_repo(repo_id, repo_type, private)
        self._json(answer)

    def create_branch(self, groups, query) -> None:
        repo = self._repo(groups, write=True)
        branch = unquote(groups["rev"])
        payload = json.loads(self._body() or b"{}")
        if branch in repo.branches:
            raise Refused(409, f"Reference already exists: {branch}")
        repo.branches[branch] = self._commit(repo, payload.get("startingPoint") or "main").oid
        self._json({})

    def validate_yaml(self, groups, query) -> None:
        content = json.loads(self._body())["content"]
        match = re.match(r"---\n(.*?)\n---", content, re.S)
        try:
            problem = None if isinstance(yaml.safe_load(match[1]) if match else {}, dict) else "not a mapping"
        except yaml.YAMLError as exc:
            problem = str(exc)
        self._json({"errors": [{"message": problem}] if problem else [], "warnings": []}, 400 if problem else 200)

    def preupload(self, groups, query) -> None:
        repo = self._repo(groups, write=True)
        current = self._commit(repo, groups["rev"])
        files = []
        for item in json.loads(self._body())["files"]:
            path, existing = item["path"], current.files.get(item["path"])
            oid = None if existing is None else file_oid(existing)
            lfs = is_lfs(base64.b64decode(item["sample"]), item["size"])
            files.append({"path": path, "shouldIgnore": False, "oid": oid, "uploadMode": "lfs" if lfs else "regular"})
        self._json({"files": files, "commitOid": current.oid})

    def lfs_batch(self, groups, query) -> None:
        repo = self._repo(groups, write=True)
        objects = []
        for item in json.loads(self._body())["objects"]:
            entry = {"oid": item["oid"], "size": item["size"], "authenticated": True}
            if item["oid"] not in self.hub.lfs_objects:
                verify = f"{self.hub.url}/{_PREFIX[repo.repo_type]}{repo.repo_id}.git/info/lfs/objects/verify"
                entry["actions"] = {"upload": {"href": f"{self.hub.url}/lfs/{item['oid']}"},
                                    "verify": {"href": verify, "header": {}}}
            objects.append(entry)
        self._json({"transfer": "basic", "objects": objects}, headers={"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_put(self, groups, query) -> None:
        data = self._body()
        if hashlib.sha256(data).hexdigest() != groups["oid"]:
            raise Refused(400, "sha256 of the uploaded object does not match its oid")
        self.hub.lfs_objects[groups["oid"]] = data
        self._send(200)

    def lfs_verify(self, groups, query) -> None:
        self._repo(groups, write=True)
        item = json.loads(self._body())
        stored = self.hub.lfs_objects.get(item["oid"])
        if stored is None or len(stored) != item["size"]:
            raise Refused(404, f"LFS object {item['oid']} missing or of the wrong size")
        self._json({"success": True})

    def commit(self, groups, query) -> None:
        repo = self._repo(groups, write=True)
        branch = unquote(groups["rev"])
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        changes: dict[str, bytes | None] = {}
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "file":
                changes[value["path"]] = base64.b64decode(value["content"])
            elif key == "lfsFile":
                if value["oid"] not in self.hub.lfs_objects:
                    raise Refused(400, f"LFS object {value['oid']} was not uploaded")
                changes[value["path"]] = self.hub.lfs_objects[value["oid"]]
            elif key in ("deletedFile", "deletedFolder"):
                changes[value["path"]] = None
        oid = self.hub.commit(repo, branch, header["summary"], changes)
        self._json({"commitUrl": f"{self.hub.url}/{_PREFIX[repo.repo_type]}{repo.repo_id}/commit/{oid}",
                    "commitOid": oid, "pullRequestUrl": None, "success": True})

    def info(self, groups, query) -> None:
        repo = self._repo(groups)
        commit = self._commit(repo, groups.get("rev") or "main")
        modified = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        self._json({"id": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": commit.oid, "tags": [],
                    "private": repo.private, "disabled": False, "gated": False, "lastModified": modified,
                    "siblings": [{"rfilename": path} for path in sorted(commit.files)]})

    def tree(self, groups, query) -> None:
        repo = self._repo(groups)
        commit = self._commit(repo, groups["rev"])
        prefix = unquote(groups.get("path") or "").strip("/") + "/" if groups.get("path") else ""
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        entries: dict[str, dict] = {}
        for path in sorted(p for p in commit.files if p.startswith(prefix)):
            parts = path[len(prefix):].split("/")
            for depth in range(1, (len(parts) if recursive else 1) + 1):  # with the folders on the way
                name = prefix + "/".join(parts[:depth])
                entries.setdefault(name, self._file_entry(commit, path) if name == path else
                                   {"type": "directory", "path": name, "oid": git_blob_oid(name.encode())})
        self._json(list(entries.values()))

    @staticmethod
    def _file_entry(commit: Commit, path: str) -> dict:
        data = commit.files[path]
        entry = {"type": "file", "path": path, "size": len(data), "oid": git_blob_oid(data)}
        if is_lfs(data, len(data)):
            sha = hashlib.sha256(data).hexdigest()
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n"
            entry["oid"] = git_blob_oid(pointer.encode())
            entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": len(pointer)}
        return entry

    def resolve(self, groups, query) -> None:
        repo = self._repo(groups)
        commit = self._commit(repo, groups["rev"])
        path = unquote(groups["path"])
        if path not in commit.files:
            raise Refused(404, "Entry not found", "EntryNotFound", commit.oid)
        data = commit.files[path]
        etag = file_oid(data)
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{etag}"'}
        if is_lfs(data, len(data)):
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
        headers["Content-Length"] = str(len(data))
        self._send(200, data if self.command == "GET" else b"", headers, "application/octet-stream")


_REPO = r"(?P<repo>[^/]+/[^/]+?)"
_API = rf"/api/(?P<type>models|datasets)/{_REPO}"
_GIT = rf"/(?P<prefix>datasets/)?{_REPO}\.git/info/lfs/objects"
_ROUTES = [
    ("POST", r"/api/repos/create", _Handler.create_repo),
    ("POST", r"/api/validate-yaml", _Handler.validate_yaml),
    ("POST", rf"{_API}/preupload/(?P<rev>[^/]+)", _Handler.preupload),
    ("POST", rf"{_API}/commit/(?P<rev>[^/]+)", _Handler.commit),
    ("POST", rf"{_API}/branch/(?P<rev>[^/]+)", _Handler.create_branch),
    ("POST", rf"{_GIT}/batch", _Handler.lfs_batch),
    ("POST", rf"{_GIT}/verify", _Handler.lfs_verify),
    ("PUT", r"/lfs/(?P<oid>[0-9a-f]{64})", _Handler.lfs_put),
    ("GET", rf"{_API}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", _Handler.tree),
    ("GET", rf"{_API}(?:/revision/(?P<rev>[^/]+))?", _Handler.info),
    ("GET", rf"/(?P<prefix>datasets/)?{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", _Handler.resolve),
]


def use_hub(monkeypatch, server: HubServer, home: Path) -> dict[str, str]:
    """Point huggingface_hub at ``server`` with a fresh cache in ``home``, in this process (its already
    imported constants are patched) and in subprocesses (the returned environment); no saved token is used.
    """
    from huggingface_hub import constants

    env = {"HF_ENDPOINT": server.url, "HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"),
           "HF_TOKEN_PATH": str(home / "token"), "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_ETAG_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    patched = {"ENDPOINT": server.url,
               "HUGGINGFACE_CO_URL_TEMPLATE": server.url + "/{repo_id}/resolve/{revision}/{filename}",
               "HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "HF_TOKEN_PATH": str(home / "token"),
               "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"), "HF_HUB_OFFLINE": False,
               "HF_HUB_DISABLE_XET": True, "HF_HUB_DISABLE_TELEMETRY": True}
    for key, value in patched.items():
        monkeypatch.setattr(constants, key, value)
    return env


def set_offline(monkeypatch, offline: bool = True) -> None:
    """Switch huggingface_hub's offline mode (``HF_HUB_OFFLINE``) here and for subprocesses."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1" if offline else "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
