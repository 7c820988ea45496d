"""`plumb schema`: the JSON Schemas specs are checked against, for editors and CI. It reads
only schemas/: no AWS, no state database, so it runs anywhere plumb is installed."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from controller.cli.command import State, command
from controller.cli.options import output_path
from controller.errors import PlumbError
from controller.kinds.fields import schema_dir, snake
from controller.output_file import write_output

DEFAULT = "environment"
_FILE_REF = re.compile(r"^([a-z_]+)\.json#/\$defs/(.+)$")


def names() -> list[str]:
    return sorted(p.stem for p in schema_dir().glob("*.json"))


def standalone(name: str) -> dict[str, Any]:
    """The schema `name` with what it takes from other schema files copied into its own
    $defs, so an editor needs no network to resolve it."""
    schema: dict[str, Any] = json.loads((schema_dir() / f"{name}.json").read_text())
    borrowed: dict[str, Any] = {}

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = _FILE_REF.match(str(node.get("$ref", "")))
            if ref and ref.group(1) != name:
                other = json.loads((schema_dir() / f"{ref.group(1)}.json").read_text())
                borrowed.update(other.get("$defs", {}))
                node = {**node, "$ref": f"#/$defs/{ref.group(2)}"}
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    schema = inline(schema)
    if borrowed:
        schema["$defs"] = {**borrowed, **schema.get("$defs", {})}
    return schema


def _name_of(kind: str) -> str:
    """ "Environment", "environment", "SecurityGroup" and "security_group" alike."""
    known = names()
    for candidate in (kind, snake(kind).lstrip("_"), kind.lower()):
        if candidate in known:
            return candidate
    raise PlumbError(
        f"no schema for {kind!r}; `plumb schema --list` lists them ({', '.join(known)})"
    )


@click.command(name="schema")
@click.argument("kind", required=False, default=DEFAULT)
@click.option(
    "--list",
    "list_them",
    is_flag=True,
    envvar="PLUMB_SCHEMA_LIST",
    help="List the schemas by name and title instead.",
)
@click.option(
    "-o",
    "--output",
    envvar="PLUMB_SCHEMA_OUTPUT",
    default=None,
    callback=output_path,
    help="Write to a file instead of stdout.",
)
@command
def schema(state: State, kind: str, list_them: bool, output: str | None) -> int:
    """Print the JSON Schema of a kind of spec (default: environment), for an editor's
    yaml-language-server or a CI check."""
    if list_them:
        for name in names():
            title = json.loads((schema_dir() / f"{name}.json").read_text()).get("title", "")
            click.echo(f"{name:<26} {title}")
        return 0
    text = json.dumps(standalone(_name_of(kind)), indent=2, ensure_ascii=False) + "\n"
    if output:
        write_output(output, text)
        state.err.print(f"wrote {output}")
    else:
        click.echo(text, nl=False)
    return 0
