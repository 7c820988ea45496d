"""The shape the design promises: the engine names no kind, modules stay small, and every
registered kind brings its schema, its not-found codes and a module named after it."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from controller.kinds import registry
from controller.kinds.fields import schema_for, snake

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 300
MAX_FUNCTION_LINES = 50
# The same list the reviewer's check greps for.
KIND_NAME = re.compile(
    r"\b(Vpc|Subnet|InternetGateway|NatGateway|ElasticIp|RouteTable|SecurityGroup|Bucket"
    r"|LoadBalancer|TargetGroup|Listener|EcsCluster|EcsService|TaskDefinition|DocDb[A-Za-z]*"
    r"|Cache[A-Za-z]*Group|Repository|LogGroup)\b"
)

registry.load_all()
KINDS = sorted(registry.REGISTRY)


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _docstring_lines(tree: ast.Module) -> set[int]:
    """First lines of module, class and function docstrings: prose, not code."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                lines.add(body[0].lineno)
    return lines


def _keyword_argument(tokens: list[tokenize.TokenInfo], at: int) -> bool:
    """`name=` right after `(` or `,`: a keyword argument of a call."""
    before = next((t for t in reversed(tokens[:at]) if t.type not in _LAYOUT), None)
    after = tokens[at + 1] if at + 1 < len(tokens) else None
    return (
        tokens[at].type == tokenize.NAME
        and after is not None
        and after.string == "="
        and before is not None
        and before.string in {"(", ","}
    )


_LAYOUT = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}


def _kind_names_in_code(path: Path) -> list[str]:
    """Kind names used as identifiers or string literals; comments and docstrings may name
    a kind as an example, code may not."""
    text = path.read_text()
    prose = _docstring_lines(ast.parse(text))
    found = []
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    for at, tok in enumerate(tokens):
        if _keyword_argument(tokens, at):
            continue  # an AWS API's parameter (S3's Bucket=), not a kind
        if tok.type == tokenize.NAME or (tok.type == tokenize.STRING and tok.start[0] not in prose):
            match = KIND_NAME.search(tok.string)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{tok.start[0]}: {match.group(0)}")
    return found


def test_controller_names_no_concrete_kind() -> None:
    found = [hit for path in _sources("controller") for hit in _kind_names_in_code(path)]
    assert not found, "the engine reaches kinds only through the registry:\n" + "\n".join(found)


def test_modules_stay_under_the_size_limit() -> None:
    too_big = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for path in _sources("controller", "reconcilers")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not too_big, f"split by what they hold (limit {MAX_LINES}):\n" + "\n".join(too_big)


def test_functions_stay_under_the_size_limit() -> None:
    too_long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)"
        for path in _sources("controller", "reconcilers", "plumb_embedded")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (n := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert not too_long, f"split into steps (limit {MAX_FUNCTION_LINES}):\n" + "\n".join(too_long)


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_has_a_schema(kind: str) -> None:
    assert schema_for(kind), f"schemas/{snake(kind)}.json is missing or empty"


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_declares_its_not_found_codes(kind: str) -> None:
    # delete() treats these as "already gone"; without them a vanished resource fails.
    assert registry.REGISTRY[kind].descriptor.not_found_codes


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_lives_in_a_module_named_after_it(kind: str) -> None:
    module = registry.REGISTRY[kind].__module__
    assert module.rsplit(".", 1)[-1] == snake(kind), f"{kind} is defined in {module}"


HEAVY = ("boto3", "botocore.client", "sqlalchemy", "moto", "deepdiff", "apscheduler")


def _heavy_modules_loaded_by(*argv: str) -> list[str]:
    """The heavy modules a run of `plumb ARGV` imports, in a fresh interpreter."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        f"sys.argv = ['plumb', *{list(argv)!r}]\n"
        "from controller.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_validate_loads_nothing_of_aws_or_the_state() -> None:
    """A pre-commit hook runs `plumb validate` on every commit: it must start fast."""
    assert _heavy_modules_loaded_by("validate", "specs") == []


def test_schema_loads_nothing_of_aws_or_the_state() -> None:
    """An editor or a CI job asks for the schemas where there is no AWS and no state."""
    assert _heavy_modules_loaded_by("schema", "--output", "/dev/null") == []
    assert _heavy_modules_loaded_by("schema", "--list") == []


def test_the_chain_hashing_is_a_leaf() -> None:
    """controller/chain.py is shared by the store that seals runs and the audit that checks
    them; importing anything of plumb would bring back the cycle between those two."""
    tree = ast.parse((ROOT / "controller" / "chain.py").read_text())
    names = [
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]
    ours = [n for n in names if n.split(".")[0] in {"controller", "reconcilers", "plumb_embedded"}]
    assert not ours, f"controller/chain.py must import nothing of plumb: {ours}"
