"""The demo script: each step prints what it does, then what plumb says."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from controller import audit, render
from controller.config import Settings
from controller.embedded import embedded_aws
from controller.history import print_history
from controller.plan import PlanOptions
from controller.runner import Runner
from controller.verbs import do_drift, do_sync, load_desired
from plumb_demo.drift import CHANGES

STACK = "acme-prod"


def example_specs() -> Path:
    here = Path(__file__).resolve().parent.parent / "specs"
    return here if here.is_dir() else Path(sys.prefix) / "share" / "plumb" / "specs"


def make_repo(folder: Path) -> Path:
    repo = folder / "platform-specs"
    shutil.copytree(example_specs(), repo / "specs")
    git = ["git", "-c", "user.name=Platform Team", "-c", "user.email=platform@acme.example"]
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run(
        [*git, "-C", str(repo), "commit", "--quiet", "-m", "acme: prod and staging"], check=True
    )
    return repo


def run_demo(console: Console) -> int:
    """The folder is kept: its reports are the point of the last step."""
    folder = Path(tempfile.mkdtemp(prefix="plumb-demo-"))
    settings = Settings(state_url=f"sqlite:///{folder}/.plumb/state.db", aws="embedded")
    return _steps(console, folder, settings)


def _steps(console: Console, folder: Path, settings: Settings) -> int:
    def step(title: str) -> None:
        console.print(Rule(f"[bold]{title}"))

    repo = make_repo(folder)
    step(f"1. A git repository of specs: {repo}")
    with embedded_aws() as aws:
        console.print(f"embedded AWS endpoint (moto) on {aws.endpoint}")
        runner = Runner(settings)
        step("2. plumb validate")
        desired = load_desired(repo / "specs")
        console.print(f"valid: {len(desired.stacks)} stacks, {len(desired.resources)} resources")
        step("3. plumb plan")
        first = runner.plan(desired, PlanOptions())
        render.print_plan(first.plan, console, fields=False)
        console.print("(`plumb plan` lists every field under each resource; here one line each)")
        console.print(render.calls_text(first.api_calls))
        step("4. plumb sync (fetch the commit, apply it)")
        if do_sync(runner, settings, str(repo), "main", "specs", console) != 0:
            return 1
        step("5. plumb plan again: nothing to do")
        again = runner.plan(desired, PlanOptions())
        console.print(render.summary(again.plan) + "  " + render.calls_text(again.api_calls))
        step("6. Someone changes things by hand")
        for change in CHANGES:
            said = change(STACK)
            if said:
                console.print(f"  • {said}")
        step("7. plumb drift")
        do_drift(runner, desired, console)
        step("8. plumb sync repairs the drift")
        do_sync(runner, settings, str(repo), "main", "specs", console)
        step("9. plumb drift: in sync again")
        code = do_drift(runner, desired, console)
        step("10. History, audit chain and reports")
        print_history(runner.store, [], 10, console)
        result = audit.verify(runner.store)
        console.print(
            f"audit verify: {result.runs_checked} runs, "
            + ("chain intact" if result.ok else "BROKEN")
        )
        console.print(f"reports: {settings.report_folder()}")
        return 0 if code == 0 and result.ok else 1
