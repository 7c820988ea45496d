"""API calls and seconds per run as the number of environments grows, against a moto server.

    python bench/run.py [--sizes 1,10,50] [--json results.json]

For each size N it writes N Environment specs (the example prod stack, with its own names
and CIDRs), then measures on a freshly reset moto server: the first apply, and a no-op run
(a second apply that finds nothing to do). A no-op's reads should grow with the number of
kinds, not of environments: that is what batched, tag-filtered observation buys.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from controller.aws.clients import is_read  # noqa: E402
from controller.cli.demo.drift import CHANGES  # noqa: E402
from controller.cli.verbs import load_desired  # noqa: E402
from controller.config import Settings  # noqa: E402
from controller.engine.plan import PlanOptions  # noqa: E402
from controller.engine.runner import Runner  # noqa: E402
from controller.reports.files import records  # noqa: E402
from plumb_embedded.endpoint import EmbeddedAws  # noqa: E402


def write_specs(folder: Path, n: int) -> Path:
    base = yaml.safe_load((ROOT / "specs" / "acme-prod.yaml").read_text())
    specs = folder / "specs"
    specs.mkdir(parents=True)
    for i in range(n):
        doc = json.loads(json.dumps(base))
        env = f"e{i:03d}"
        doc["metadata"]["env"] = env
        net = doc["spec"]["network"]
        second = i // 200
        third = i % 200
        net["cidr"] = f"10.{third}.0.0/16" if second == 0 else f"172.{16 + second}.0.0/16"
        prefix = net["cidr"].rsplit(".", 2)[0]
        net["publicSubnets"] = [f"{prefix}.0.0/24", f"{prefix}.1.0/24"]
        net["privateSubnets"] = [f"{prefix}.10.0/24", f"{prefix}.11.0/24"]
        doc["spec"]["service"]["image"]["repository"] = f"acme-app-{env}"
        secret = f"acme/{env}/azure-openai-key"
        doc["spec"]["service"]["secrets"] = {"AZURE_OPENAI_API_KEY": secret}
        doc["spec"]["models"]["azureOpenAI"]["apiKeySecret"] = secret
        (specs / f"acme-{env}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return specs


def measure(n: int, endpoint: str) -> dict[str, object]:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    with tempfile.TemporaryDirectory() as tmp:
        specs = write_specs(Path(tmp), n)
        settings = Settings(
            state_url=f"sqlite:///{tmp}/state.db", reports_dir=Path(tmp) / "r", aws="embedded"
        )
        runner = Runner(settings, observers=records(settings))
        desired = load_desired(specs)
        first = runner.apply(desired, PlanOptions())
        commits = _count_commits(runner)
        noop = runner.apply(desired, PlanOptions())
        noop_commits = commits[0]
        changes = [said for change in CHANGES if (said := change("acme-e000"))]
        repair = runner.apply(desired, PlanOptions())
        return {
            "environments": n,
            "resources": len(desired.resources),
            "first_apply": {
                "seconds": first.seconds,
                "calls": first.api_calls["total"],
                "reads": first.api_calls["reads"],
                "writes": first.api_calls["writes"],
                "outcome": first.outcome,
            },
            "noop": {
                "seconds": noop.seconds,
                "calls": noop.api_calls["total"],
                "reads": noop.api_calls["reads"],
                "writes": noop.api_calls["writes"],
                "outcome": noop.outcome,
                "state_transactions": noop_commits,
                "by_operation": noop.api_calls["byOperation"],
            },
            "drift_repair": {
                "changes": changes,
                "seconds": repair.seconds,
                "calls": repair.api_calls["total"],
                "writes": repair.api_calls["writes"],
                "writes_by_operation": {
                    op: n
                    for op, n in repair.api_calls["byOperation"].items()
                    if not is_read(op.split(":", 1)[1])
                },
                "outcome": repair.outcome,
            },
        }


def _count_commits(runner: Runner) -> list[int]:
    """State transactions committed from now on (the ledger's cost), in a one-item list."""
    seen = [0]

    def on_commit(_conn: object) -> None:
        seen[0] += 1

    event.listen(runner.store.engine, "commit", on_commit)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    aws = EmbeddedAws()
    endpoint = aws.start()
    rows = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            rows.append(measure(n, endpoint))
            r = rows[-1]
            print(f"measured {n} environments", file=sys.stderr)
    finally:
        aws.stop()
    print(
        "| envs | resources | first apply s | calls (reads/writes) "
        "| no-op s | calls (reads/writes) | no-op state transactions |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        f, z = r["first_apply"], r["noop"]
        print(
            f"| {r['environments']} | {r['resources']} | {f['seconds']:.2f} | {f['calls']} "
            f"({f['reads']}/{f['writes']}) | {z['seconds']:.2f} | {z['calls']} "
            f"({z['reads']}/{z['writes']}) | {z['state_transactions']} |"
        )
    for r in rows:
        d = r["drift_repair"]
        print(
            f"\ndrift repair at {r['environments']} envs: {len(d['changes'])} hand changes, "
            f"{d['writes']} writes {d['writes_by_operation']}, {d['seconds']:.2f} s"
        )
    print("\nno-op reads by operation, largest size:")
    for op, count in sorted(rows[-1]["noop"]["by_operation"].items(), key=lambda kv: -kv[1]):
        print(f"  {op:<45} {count}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
