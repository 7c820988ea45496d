"""The state URL's password is never printed, in the userinfo or the query (issue 17)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from controller.cli.main import main
from controller.state import shown_url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:pw1@127.0.0.1:1/db?password=pw2",
        "postgresql+psycopg://u@127.0.0.1:1/db?sslpassword=pw1&password=pw2",
        "nonsense://u:pw1@h/db?password=pw2",
        "garbage:pw1@x?PASSWORD=pw2",
    ],
)
def test_a_state_urls_password_is_never_printed(url: str) -> None:
    result = CliRunner().invoke(main, ["--state", url, "history"])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), output
    assert all(line.startswith("error: ") for line in output.splitlines()), output
    assert "pw1" not in output and "pw2" not in output, output


def test_shown_url_keeps_what_is_not_a_password() -> None:
    url = "postgresql+psycopg://plumb:pw@db.internal:5432/plumb?sslmode=require&password=pw"
    shown = "postgresql+psycopg://plumb:***@db.internal:5432/plumb?password=***&sslmode=require"
    assert shown_url(url) == shown  # SQLAlchemy sorts the query
    assert shown_url("sqlite:///.plumb/state.db") == "sqlite:///.plumb/state.db"
