"""`plumb schema` prints the schemas specs are checked against; `plumb validate` takes the
files a pre-commit hook passes, several at once."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from jsonschema import Draft202012Validator

from controller.cli.main import main
from controller.specs.load import load_documents

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"


def _plumb(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.stdout, done.stderr


def test_schema_prints_the_environment_schema_by_default() -> None:
    code, out, _ = _plumb("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema == json.loads((ROOT / "schemas" / "environment.json").read_text())
    Draft202012Validator.check_schema(schema)
    for doc in load_documents(SPECS):  # the examples are what the schema describes
        Draft202012Validator(schema).validate(json.loads(json.dumps(doc.body, default=str)))


def test_schema_names_a_kind_as_aws_or_as_its_file_spells_it() -> None:
    by_kind, by_file = _plumb("schema", "SecurityGroup"), _plumb("schema", "security_group")
    assert by_kind[0] == by_file[0] == 0 and by_kind[1] == by_file[1]
    assert json.loads(by_kind[1])["title"] == "SecurityGroup"


def test_schema_of_the_envelope_stands_alone() -> None:
    code, out, _ = _plumb("schema", "envelope")
    schema = json.loads(out)
    refs = [v for v in _values(schema, "$ref")]
    assert code == 0 and refs and all(r.startswith("#/$defs/") for r in refs)
    assert all(r.removeprefix("#/$defs/") in schema["$defs"] for r in refs)


def _values(node: object, key: str) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [
            x for v in node.values() for x in _values(v, key)
        ]
    if isinstance(node, list):
        return [x for v in node for x in _values(v, key)]
    return []


def test_schema_list_and_output(tmp_path: Path) -> None:
    code, out, _ = _plumb("schema", "--list")
    names = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and "environment" in names and "envelope" in names and "bucket" in names
    target = tmp_path / "plumb-schema.json"
    code, out, _ = _plumb("schema", "--output", str(target))
    assert code == 0 and out == "" and json.loads(target.read_text())["title"] == "Environment"


def test_schema_of_an_unknown_kind_is_one_line_and_exit_1() -> None:
    code, _, err = _plumb("schema", "Teapot")
    assert code == 1 and "no schema for 'Teapot'" in err and "plumb schema --list" in err
    assert "Traceback" not in err


def test_validate_takes_several_files_and_checks_them_together(tmp_path: Path) -> None:
    code, out, _ = _plumb(
        "validate", str(SPECS / "acme-prod.yaml"), str(SPECS / "acme-staging.yaml")
    )
    assert code == 0 and "2 stacks" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (SPECS / "acme-staging.yaml").read_text().replace("natGateways: 1", "natGateways: x")
    )
    code, _, err = _plumb("validate", str(SPECS / "acme-prod.yaml"), str(broken))
    assert code == 1 and f"{broken}:" in err and "natGateways" in err
    code, _, err = _plumb("validate", str(SPECS / "acme-prod.yaml"), str(tmp_path / "missing.yaml"))
    assert code == 1 and "no spec files found" in err
