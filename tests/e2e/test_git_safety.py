"""What reaches git, through the real CLI: no value of a user's or a state row's becomes one of
git's options, and a token in a repository URL is used, never kept (issue 17)."""

from __future__ import annotations

import base64
import contextlib
import http.server
import sqlite3
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from plumb_embedded.endpoint import self_signed
from tests.e2e.conftest import Cli
from tests.e2e.test_source import GIT, _commit, _edit, _repo

SECRET = "ghs_n0tInAnyF1le"


def _state_file(cli: Cli) -> Path:
    return Path(cli.env["PLUMB_STATE"].removeprefix("sqlite:///"))


def _one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert all(word in done.stderr for word in words), done.stderr


def test_a_state_row_naming_a_git_option_as_the_commit_in_force_is_never_run(
    cli: Cli, workdir: Path
) -> None:
    repo = _repo(workdir)
    (repo / "docs").mkdir()
    (repo / "docs" / "notes.txt").write_text("not specs\n")
    subprocess.run(["git", "-C", str(repo), "add", "docs"], check=True)
    _commit(repo, "docs: notes")
    cli("sync", "--repo", str(repo), check=0)

    pwned = workdir / "pwned"
    with _sqlite(cli) as db:
        db.execute("UPDATE runs SET commit_sha = ?", (f"--upload-pack=touch {pwned};",))
    _edit(repo, "cidr: 10.60.0.0/16", "cidr: 10.60.0.1/16")
    _commit(repo, "prod: a typo in the VPC CIDR")  # a refused head: the commit in force is read

    out = cli("sync", "--repo", str(repo), check=1).stdout
    assert not pwned.exists(), "the state row ran as git's --upload-pack"
    (line,) = [x for x in out.splitlines() if "not a commit id" in x]
    assert "plumb does not hand it to git" in line
    checkouts = workdir / ".plumb" / "checkouts"
    assert not list(checkouts.rglob("notes.txt")), "only --path is written out"


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["sync", "--repo", "--upload-pack=touch {pwned};"], {}, ["--repo", "starts with '-'"]),
        (["run", "--once"], {"PLUMB_REPO": "--upload-pack=touch {pwned};"}, ["PLUMB_REPO"]),
        (["sync", "--repo", "ext::sh -c touch% {pwned}"], {}, ["remote helper"]),
        (
            ["sync", "--repo", "{repo}", "--branch", "--upload-pack=touch {pwned};"],
            {},
            ["--branch"],
        ),
        (["sync", "--repo", "{repo}", "--path", "/etc"], {}, ["--path '/etc'"]),
        (["run", "--once", "--repo", "{repo}", "--path", "../x"], {}, ["--path '../x'"]),
    ],
)
def test_a_value_git_would_read_as_an_option_is_refused_recording_nothing(
    cli: Cli, workdir: Path, args: list[str], env: dict[str, str], words: list[str]
) -> None:
    repo = _repo(workdir)
    names = {"pwned": workdir / "pwned", "repo": repo}
    cli.env.update({k: v.format(**names) for k, v in env.items()})
    done = cli(*(a.format(**names) for a in args))
    _one_line_error(done, *words)
    assert not (workdir / "pwned").exists()
    assert not _state_file(cli).exists(), "nothing recorded"


def test_a_token_in_the_repository_url_is_used_and_never_kept(
    cli: Cli, workdir: Path, git_server: GitServer
) -> None:
    url = f"https://x-access-token:{SECRET}@127.0.0.1:{git_server.port}/org/specs.git"
    done = cli("run", "--once", "--log-format", "json", "--repo", url, check=1)
    assert git_server.basic() == f"x-access-token:{SECRET}", "the token reached the server"
    assert "refused" in done.stdout and "Authentication failed" in done.stdout
    again = cli("sync", "--repo", url, check=1)
    shown = [cli("report", "latest", "--format", f).stdout for f in ("json", "markdown", "html")]
    shown += [cli("history").stdout, again.stdout, again.stderr, done.stdout, done.stderr]
    for text in shown:
        assert SECRET not in text
    assert f"https://127.0.0.1:{git_server.port}/org/specs.git#main" in done.stdout
    files = [p for p in (workdir / ".plumb").rglob("*") if p.is_file()]
    assert _state_file(cli) in files and any(p.suffix == ".html" for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(("user", "expected"), [(None, "x-access-token"), ("ci-bot", "ci-bot")])
def test_plumb_git_token_reaches_git_through_askpass_never_its_command_line(
    cli: Cli, workdir: Path, git_server: GitServer, user: str | None, expected: str
) -> None:
    calls = workdir / "git-calls"
    shim = workdir / "bin" / "git"
    shim.parent.mkdir()
    real = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {calls}\nexec {real} "$@"\n')
    shim.chmod(0o755)
    cli.env.update({"PLUMB_GIT_TOKEN": SECRET, "PATH": f"{shim.parent}:{cli.env['PATH']}"})
    cli.env.pop("PLUMB_GIT_USER", None)
    cli.env.update({"PLUMB_GIT_USER": user} if user else {})
    url = f"https://127.0.0.1:{git_server.port}/org/specs.git"
    done = cli("sync", "--repo", url, check=1)
    assert git_server.basic() == f"{expected}:{SECRET}"
    assert "fetch" in calls.read_text() and SECRET not in calls.read_text()
    assert SECRET not in done.stdout + done.stderr
    assert not list((workdir / ".plumb" / "checkouts").glob(".askpass-*")), "removed after"


def test_a_token_plumb_is_given_is_never_stored_by_a_credential_helper(
    cli: Cli, workdir: Path, git_server: GitServer
) -> None:
    stored = workdir / "git-credentials"
    git_server.config.write_text(f"[credential]\n\thelper = store --file={stored}\n")
    git_server.accept = True  # git keeps an accepted credential with its helpers
    cli.env["PLUMB_GIT_TOKEN"] = SECRET
    cli("sync", "--repo", f"https://127.0.0.1:{git_server.port}/org/specs.git", check=1)
    assert git_server.basic() == f"x-access-token:{SECRET}"
    assert not stored.exists() or SECRET not in stored.read_text()


def test_without_a_token_gits_credential_helpers_answer(
    cli: Cli, workdir: Path, git_server: GitServer
) -> None:
    stored = workdir / "git-credentials"
    stored.write_text(f"https://helper-user:helper-pass@127.0.0.1:{git_server.port}\n")
    git_server.config.write_text(f"[credential]\n\thelper = store --file={stored}\n")
    cli.env.pop("PLUMB_GIT_TOKEN", None)
    cli("sync", "--repo", f"https://127.0.0.1:{git_server.port}/org/specs.git", check=1)
    assert git_server.basic() == "helper-user:helper-pass"


def test_a_commit_that_cannot_be_written_out_leaves_no_staging_folder(
    cli: Cli, workdir: Path
) -> None:
    repo = _repo(workdir)
    (repo / "specs" / "hosts.yaml").symlink_to("/etc/hosts")  # tar's data filter refuses it
    subprocess.run(["git", "-C", str(repo), *GIT, "add", "specs"], check=True)
    _commit(repo, "specs: a link out of the repository")
    first, again = (cli("sync", "--repo", str(repo), check=1).stdout for _ in range(2))
    assert "refused" in first and "absolute path" in first and "refused in run" in again
    left = [p.name for p in (workdir / ".plumb" / "checkouts").iterdir()]
    assert not [name for name in left if name.startswith(".")], left


@contextlib.contextmanager
def _sqlite(cli: Cli) -> Iterator[sqlite3.Connection]:
    """The CLI's SQLite state, for editing a row as someone with the file could."""
    db = sqlite3.connect(_state_file(cli))
    try:
        yield db
        db.commit()
    finally:
        db.close()


@dataclass
class GitServer:
    """An https git host that asks for a password: what it was sent is all a test needs. It
    accepts any credential when told to (git then keeps it with its helpers), and answers
    with no repository."""

    port: int = 0
    seen: list[str] = field(default_factory=list)
    accept: bool = False
    config: Path = Path()  # the git configuration the CLI's git reads

    def basic(self) -> str:
        sent = [h.removeprefix("Basic ") for h in self.seen if h.startswith("Basic ")]
        assert sent, f"git sent no credential: {self.seen}"
        return base64.b64decode(sent[-1]).decode()


@pytest.fixture
def git_server(cli: Cli, tmp_path: Path) -> Iterator[GitServer]:
    host = GitServer(config=tmp_path / "gitconfig")

    class Asks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            sent = self.headers.get("Authorization", "")
            host.seen.append(sent)
            self.send_response(200 if sent and host.accept else 401)
            self.send_header("WWW-Authenticate", 'Basic realm="specs"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Asks)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The test's git trusts the test's server; nothing of the host's git settings applies.
    cli.env.update({"GIT_SSL_NO_VERIFY": "1", "GIT_CONFIG_NOSYSTEM": "1"})
    cli.env["GIT_CONFIG_GLOBAL"] = str(host.config)
    host.port = server.server_address[1]
    yield host
    server.shutdown()
    server.server_close()


def _self_signed(folder: Path) -> tuple[str, str]:
    """The embedded endpoint's certificate, as files for the git host (git verifies none)."""
    cert, key = self_signed()
    cert_file, key_file = folder / "git-host.pem", folder / "git-host.key"
    cert_file.write_bytes(cert)
    key_file.write_bytes(key)
    return str(cert_file), str(key_file)
