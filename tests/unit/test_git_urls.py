"""What reaches git: the repository URL forms accepted and their public form, branch names,
commit ids, --path, and the askpass script that hands git a token from its environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controller.loop import git_credentials
from controller.loop.git_credentials import fetch_environment, user_for
from controller.loop.git_inputs import GitInputError, branch_name, commit_id, inside, spec_path
from controller.loop.git_urls import RepoUrlError, parse, public_url, scrubbed

SECRET = "ghp_s3cr3tT0ken"


@pytest.mark.parametrize(
    ("url", "public"),
    [
        (
            f"https://x-access-token:{SECRET}@github.com/org/specs.git",
            "https://github.com/org/specs.git",
        ),
        (f"https://{SECRET}@github.com/org/specs.git", "https://github.com/org/specs.git"),
        (
            f"https://oauth2:{SECRET}@gitlab.acme.example:8443/a/b",
            "https://gitlab.acme.example:8443/a/b",
        ),
        (f"ssh://git:{SECRET}@host/org/specs.git", "ssh://git@host/org/specs.git"),
        (f"git:{SECRET}@github.com:org/specs.git", "git@github.com:org/specs.git"),
        ("git@github.com:org/specs.git", "git@github.com:org/specs.git"),
        ("https://github.com/org/specs.git", "https://github.com/org/specs.git"),
        ("/srv/git/a@b/specs", "/srv/git/a@b/specs"),
    ],
)
def test_public_url_keeps_no_credential(url: str, public: str) -> None:
    assert public_url(url) == public


def test_scrubbed_takes_credentials_out_of_gits_messages() -> None:
    stderr = f"fatal: unable to access 'https://u:{SECRET}@h/x.git/': 401"
    assert scrubbed(stderr) == "fatal: unable to access 'https://h/x.git/': 401"
    assert SECRET not in scrubbed(f"password {SECRET} rejected", SECRET)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/specs.git",
        "ssh://git@github.com:22/org/specs.git",
        "git@github.com:org/specs.git",
        "file:///srv/git/specs",
        "/srv/git/specs",
        "relative/specs",
    ],
)
def test_accepted_forms(url: str) -> None:
    assert parse(url).address


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch pwned;",
        "-oProxyCommand=x",
        "ext::sh -c touch% pwned",
        "fd::17",
        "http://github.com/org/specs.git",
        "git://github.com/org/specs.git",
        "ssh://-oProxyCommand=x/specs",
        "-oProxyCommand=x:specs",
        "https:///no-host",
        "",
        "https://h/x\nmore",
    ],
)
def test_refused_forms(url: str) -> None:
    with pytest.raises(RepoUrlError) as err:
        parse(url)
    assert "\n" not in str(err.value)


def test_an_https_credential_is_kept_aside_and_git_is_handed_the_public_url() -> None:
    url = parse(f"https://x-access-token:{SECRET}@GitHub.com/org/specs.git")
    assert (url.address, url.host) == ("https://GitHub.com/org/specs.git", "github.com")
    assert (url.user, url.password) == ("x-access-token", SECRET)


def test_a_local_path_is_made_absolute_for_git() -> None:
    assert parse("specs-repo").address == os.path.abspath("specs-repo")


@pytest.mark.parametrize("name", ["main", "release/2026", "feature/a-b_c.1"])
def test_branch_names_git_accepts(name: str) -> None:
    assert branch_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-x", "--upload-pack=x", "a..b", "a b", "a:b", "a/", "/a", ".a", "a.lock", "@"]
)
def test_branch_names_refused(name: str) -> None:
    with pytest.raises(GitInputError):
        branch_name(name)


def test_commit_ids_are_40_or_64_hex_digits() -> None:
    assert commit_id("a" * 40, "x") == "a" * 40 and commit_id("0" * 64, "x") == "0" * 64
    for bad in ("--upload-pack=touch x;", "a" * 39, "A" * 40, "a" * 41, "HEAD", None):
        with pytest.raises(GitInputError, match="not a commit id"):
            commit_id(bad, "run 3")


def test_spec_path_is_relative_and_inside() -> None:
    assert spec_path("specs/") == "specs" and spec_path("./a/../b") == "b"
    assert spec_path(".") == "."
    for bad in ("/etc", "../x", "a/../../x", ".."):
        with pytest.raises(GitInputError, match="inside the repository"):
            spec_path(bad)


def test_a_symlink_leading_out_of_the_checkout_is_refused(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "specs").mkdir(parents=True)
    (checkout / "out").symlink_to(tmp_path)
    assert inside(checkout, "specs") == (checkout / "specs").resolve()
    with pytest.raises(GitInputError, match="leads out"):
        inside(checkout, "out")


@pytest.mark.parametrize(
    ("host", "user"),
    [
        ("github.com", "x-access-token"),
        ("git.acme.example", "x-access-token"),
        ("gitlab.com", "oauth2"),
        ("gitlab.acme.example", "oauth2"),
        ("bitbucket.org", "x-token-auth"),
    ],
)
def test_the_user_name_each_host_expects(
    host: str, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(git_credentials.USER_ENV, raising=False)
    assert user_for(host) == user
    monkeypatch.setenv(git_credentials.USER_ENV, "ci-bot")
    assert user_for(host) == "ci-bot"


def _ask(env: dict[str, str], prompt: str) -> subprocess.CompletedProcess[str]:
    """The askpass script run as git runs it: the prompt its one argument."""
    return subprocess.run([env["GIT_ASKPASS"], prompt], env=env, capture_output=True, text=True)


def test_the_askpass_script_answers_from_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(git_credentials.TOKEN_ENV, SECRET)
    monkeypatch.delenv(git_credentials.USER_ENV, raising=False)
    with fetch_environment(parse("https://gitlab.com/a/b.git"), tmp_path) as env:
        script = Path(env["GIT_ASKPASS"])
        assert script.stat().st_mode & 0o777 == 0o700
        assert script.parent.stat().st_mode & 0o777 == 0o700
        assert SECRET not in script.read_text(), "the token is never in a file"
        assert _ask(env, "Username for 'https://gitlab.com': ").stdout == "oauth2\n"
        assert _ask(env, "Password for 'https://oauth2@gitlab.com': ").stdout == f"{SECRET}\n"
        assert _ask(env, "Are you sure you want to continue connecting?").returncode == 1
        assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_ALLOW_PROTOCOL"] == "https:ssh:file"
        assert git_credentials.TOKEN_ENV not in env
    assert not script.parent.exists(), "the script's folder goes with the fetch"


def test_a_token_in_the_url_wins_and_no_askpass_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(git_credentials.TOKEN_ENV, "from-the-environment")
    with fetch_environment(parse(f"https://bot:{SECRET}@git.example/a.git"), tmp_path) as env:
        assert _ask(env, "Username for 'https://git.example': ").stdout == "bot\n"
        assert _ask(env, "Password for 'https://bot@git.example': ").stdout == f"{SECRET}\n"
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")  # a setting of the user's own stays
    with fetch_environment(parse(f"https://bot:{SECRET}@git.example/a.git"), tmp_path) as env:
        assert env["GIT_CONFIG_COUNT"] == "2" and env["GIT_CONFIG_KEY_1"] == "credential.helper"
        assert env["GIT_CONFIG_VALUE_1"] == "", "no helper answers before the token or keeps it"
    monkeypatch.delenv(git_credentials.TOKEN_ENV)
    with fetch_environment(parse("https://git.example/a.git"), tmp_path) as env:
        assert "GIT_ASKPASS" not in env, "git's own credential helpers answer"
        assert env["GIT_CONFIG_COUNT"] == "1"
    with fetch_environment(parse("https://alice@git.example/a.git"), tmp_path) as env:
        assert _ask(env, "Username for 'https://git.example': ").stdout == "alice\n"
        assert env["GIT_CONFIG_COUNT"] == "1", "a helper may hold alice's password"
    with fetch_environment(parse("git@git.example:a.git"), tmp_path) as env:
        assert "GIT_ASKPASS" not in env, "a token is for https only"


def test_the_source_module_refuses_them_itself(tmp_path: Path) -> None:
    """Behind the CLI's check: a caller that hands source.py a bad value runs no git."""
    from controller.errors import PlumbError
    from controller.loop import source

    repo, pwned, work = tmp_path / "repo", tmp_path / "pwned", tmp_path / "checkouts"
    git = ["git", "-C", str(repo), "-c", "user.name=A", "-c", "user.email=a@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    option = f"--upload-pack=touch {pwned};"
    calls = [
        lambda: source.checkout(str(repo), "main", option, work),
        lambda: source.fetch(option, "main", work),
        lambda: source.fetch(str(repo), option, work),
        lambda: source.fetch(str(repo), "main", work, path="../x"),
    ]
    for call in calls:
        with pytest.raises(PlumbError):
            call()
    assert not pwned.exists()
