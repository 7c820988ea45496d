"""The demo script: each step prints what it does, then what plumb says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
from rich.console import Console
from rich.rule import Rule

from controller.audit import verify as audit
from controller.cli.demo.drift import CHANGES
from controller.cli.history import print_history
from controller.cli.verbs import Desired, converge_shared, do_drift, load_desired
from controller.config import Settings
from controller.engine.plan import PlanOptions
from controller.engine.runner import Runner
from controller.loop.cycle import do_sync
from controller.reports import render
from controller.reports.files import records
from controller.words import counted
from plumb_embedded.endpoint import embedded_aws, require_moto

STACK = "acme-prod"
OLD_TAG, NEW_TAG = "1.4.2", "1.4.3"
GIT = ["git", "-c", "user.name=Platform Team", "-c", "user.email=platform@acme.example"]


def example_specs() -> Path:
    here = Path(__file__).resolve().parents[3] / "specs"
    return here if here.is_dir() else Path(sys.prefix) / "share" / "plumb" / "specs"


def make_repo(folder: Path) -> Path:
    repo = folder / "platform-specs"
    shutil.copytree(example_specs(), repo / "specs")
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(repo)], check=True)
    _commit(repo, "acme: prod and staging")
    return repo


def _commit(repo: Path, message: str) -> None:
    subprocess.run([*GIT, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "--quiet", "-m", message], check=True)


def commit_new_tag(repo: Path, tag: str) -> None:
    spec = repo / "specs" / f"{STACK}.yaml"
    spec.write_text(spec.read_text().replace(f'tag: "{OLD_TAG}"', f'tag: "{tag}"'))
    _commit(repo, f"acme-prod: run {tag}")


def push_image(repository: str, tag: str) -> str:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "layers": [],
    }
    boto3.client("ecr").put_image(
        repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag
    )
    return f"image {repository}:{tag} pushed"


def pipeline_pushes(desired: Desired) -> list[str]:
    """What the team does outside plumb: push each image, set each secret's value."""
    done = []
    for res in desired.resources:
        for tag in res.expects.get("imageTags") or ():
            done.append(push_image(str(res.spec["repositoryName"]), str(tag)))
    for res in desired.resources:
        if res.kind == "Secret":
            boto3.client("secretsmanager").put_secret_value(
                SecretId=str(res.spec["name"]), SecretString="set-by-its-owner"
            )
            done.append(f"secret {res.spec['name']} given a value (never read by plumb)")
    return done


def describe_rollout(stack: str) -> str:
    """What ECS itself says now: the service's revision and image, read through boto3."""
    ecs = boto3.client("ecs")
    [service] = ecs.describe_services(cluster=stack, services=[f"{stack}-app"])["services"]
    arn = service["taskDefinition"]
    task = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    revisions = ecs.list_task_definitions(familyPrefix=f"{stack}-app", status="ACTIVE")
    return (
        f"ECS: service {service['serviceName']} runs {arn.rsplit('/', 1)[-1]} "
        f"(image {task['containerDefinitions'][0]['image'].rsplit('/', 1)[-1]}), "
        f"{service['desiredCount']} tasks; active revisions: "
        f"{', '.join(a.rsplit('/', 1)[-1] for a in revisions['taskDefinitionArns'])}"
    )


def run_demo(console: Console, keep: bool = False) -> int:
    """Everything happens in one temporary folder, removed at the end unless `keep`: then
    its state and reports are there to open."""
    require_moto()
    folder = Path(tempfile.mkdtemp(prefix="plumb-demo-"))
    settings = Settings(state_url=f"sqlite:///{folder}/.plumb/state.db", aws="embedded")
    try:
        code = _steps(console, folder, settings)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    if keep:
        console.print(f"kept: the state and the reports are in {settings.report_folder().parent}")
    else:
        console.print("(its temporary folder is removed; `plumb demo --keep` keeps the reports)")
    return code


def _steps(console: Console, folder: Path, settings: Settings) -> int:
    repo = make_repo(folder)
    _step(console, f"1. A git repository of specs: {repo}")
    with embedded_aws() as aws:
        console.print(f"embedded AWS endpoint (moto) on {aws.endpoint}")
        runner = Runner(settings, observers=records(settings))
        desired = _first_sync(console, runner, settings, repo)
        if desired is None:
            return 1
        code = _drift_repaired(console, runner, settings, repo, desired)
        _step(console, "10. A new image tag is committed: the service rolls")
        _rolled(console, runner, settings, repo)
        code = code or do_drift(runner, load_desired(repo / "specs"), console)
        _step(console, "11. History, audit chain and reports")
        print_history(runner.store, [], 10, console)
        result = audit.verify(runner.store)
        console.print(
            f"audit verify: {result.runs_checked} runs, "
            + ("chain intact" if result.ok else "BROKEN")
        )
        return 0 if code == 0 and result.ok else 1


def _step(console: Console, title: str) -> None:
    console.print(Rule(f"[bold]{title}"))


def _first_sync(console: Console, runner: Runner, settings: Settings, repo: Path) -> Desired | None:
    """Steps 2 to 5: validate, plan, sync, and plan again to find nothing to do; None when
    the sync failed."""
    _step(console, "2. plumb validate")
    desired = load_desired(repo / "specs")
    console.print(
        f"valid: {counted(len(desired.stacks), 'stack')}, "
        f"{counted(len(desired.resources), 'resource')}"
    )
    _step(console, "3. plumb plan")
    first = runner.plan(desired, PlanOptions())
    render.print_plan(first.plan, console, fields=False)
    console.print("(`plumb plan` lists every field under each resource; here one line each)")
    console.print(render.calls_text(first.api_calls))
    _step(console, "4. plumb sync (fetch the commit, apply it)")
    if _sync(runner, settings, repo, console) != 0:
        return None
    console.print("The CI pipeline pushes the images; the key's owner sets the Azure key:")
    for said in pipeline_pushes(desired):
        console.print(f"  • {said}")
    _step(console, "5. plumb plan again: nothing to do")
    again = runner.plan(desired, PlanOptions())
    console.print(render.summary(again.plan) + "  " + render.calls_text(again.api_calls))
    return desired


def _drift_repaired(
    console: Console, runner: Runner, settings: Settings, repo: Path, desired: Desired
) -> int:
    """Steps 6 to 9: changes by hand, found as drift, repaired by a sync; the last drift's
    exit code."""
    _step(console, "6. Someone changes things by hand")
    for change in CHANGES:
        said = change(STACK)
        if said:
            console.print(f"  • {said}")
    _step(console, "7. plumb drift")
    do_drift(runner, desired, console)
    _step(console, "8. plumb sync repairs the drift")
    _sync(runner, settings, repo, console)
    _step(console, "9. plumb drift: in sync again")
    return do_drift(runner, desired, console)


def _rolled(console: Console, runner: Runner, settings: Settings, repo: Path) -> None:
    """Step 10: a new tag committed, planned, pushed and synced; what ECS runs then."""
    commit_new_tag(repo, NEW_TAG)
    rolled = runner.plan(load_desired(repo / "specs"), PlanOptions())
    render.print_plan(rolled.plan, console)
    console.print(f"  • {push_image('acme-app', NEW_TAG)}")
    _sync(runner, settings, repo, console)
    console.print(describe_rollout(STACK))


def _sync(runner: Runner, settings: Settings, repo: Path, console: Console) -> int:
    """`plumb sync` of the demo's repository, printed as the command prints it."""
    return do_sync(runner, settings, str(repo), "main", "specs", console, converge=converge_shared)
