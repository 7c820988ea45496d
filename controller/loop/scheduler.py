"""`plumb run`: one sync cycle every interval, with an HTTP endpoint beside it.

APScheduler drives the cycle on a background thread, at the interval plus a random jitter
(replicas started together do not fetch and observe in step). The cycle job may fall due
while a cycle still runs; the gate (cycle_gate.py) folds that, and any number of signed
pushes to POST /sync, into one more cycle right after, never two at once. A cycle a push
asked for is recorded with trigger `webhook` and the ids of the deliveries folded into it.
The endpoint (endpoint.py) answers /healthz and /readyz from the loop's status and /metrics
from the runs the runner reports.

SIGTERM (or SIGINT) asks the loop to stop: the run in flight finishes the steps it has
started, starts no other, is sealed `interrupted` and releases its leases; no new cycle
begins, and the process exits 0. A container's stop timeout is that step's time.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from rich.console import Console

from controller import logs
from controller.config import Settings
from controller.engine.runner import Runner
from controller.loop.cycle import Converge, do_sync
from controller.loop.cycle_gate import CycleGate
from controller.loop.endpoint import Endpoint
from controller.loop.git_urls import public_url
from controller.loop.metrics import Metrics
from controller.loop.run_watch import RunWatch
from controller.loop.status import LoopStatus
from controller.loop.webhook import SECRET_ENV

CYCLE_JOB = "plumb-cycle"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_log = logging.getLogger(__name__)


def default_jitter(interval: int) -> int:
    """A tenth of the interval, at most a minute."""
    return min(60, interval // 10)


def serve(
    runner: Runner,
    settings: Settings,
    repo: str,
    branch: str,
    path: str,
    interval: int,
    listen: str,
    once: bool,
    console: Console,
    *,
    converge: Converge,
    keyring: Path | None = None,
    jitter: int | None = None,
) -> int:
    shown = public_url(repo)  # what the log and the console say: never a credential
    status = LoopStatus(interval)
    metrics = Metrics()
    metrics.watch_last_success(lambda: status.last_success_at)
    outcomes: Counter[str] = Counter()
    runner.observers.append(RunWatch(metrics, outcomes))
    cycle = _cycle(
        runner, settings, Source(repo, branch, path, keyring), console, converge, status, outcomes
    )
    stop = threading.Event()
    _on_stop_signals(lambda: _set_all(runner.stopping, stop))
    if once:
        code = cycle([])
        return 0 if runner.stopping.is_set() else code
    scheduler, gate = _scheduled(cycle, interval, jitter)
    trigger = gate.trigger_for(scheduler, CYCLE_JOB)
    secret = os.environ.get(SECRET_ENV)
    endpoint = Endpoint(listen, status, metrics, trigger, secret, branch=branch).start()
    console.print(f"plumb run: syncing {shown}#{branch} every {interval} s; {endpoint.describe()}")
    scheduler.start()
    try:
        while not stop.wait(1.0):
            pass
        console.print("plumb run: told to stop; ending the step in flight")
        scheduler.shutdown(wait=True)  # the cycle in flight ends, sealed and unleased
    finally:
        endpoint.stop()
    console.print("plumb run: stopped")
    return 0


@dataclass(frozen=True)
class Source:
    """What the loop follows: a repository's branch, the specs' folder in it, and the
    keyring its commits must be signed by."""

    repo: str
    branch: str
    path: str
    keyring: Path | None


def _cycle(
    runner: Runner,
    settings: Settings,
    source: Source,
    console: Console,
    converge: Converge,
    status: LoopStatus,
    outcomes: Counter[str],
) -> Callable[[list[str]], int]:
    """One cycle of the loop, as the gate runs it; `asked` are the ids of the webhook
    deliveries that asked for it."""
    repo, branch, path, keyring = source.repo, source.branch, source.path, source.keyring
    shown = public_url(repo)

    def cycle(asked: list[str]) -> int:
        if runner.stopping.is_set():
            return 0
        status.cycle_started()
        outcomes.clear()
        trigger, deliveries = ("webhook" if asked else "schedule"), [d for d in asked if d]
        logs.emit(
            "cycle-started", source=f"{shown}#{branch}", trigger=trigger, deliveries=deliveries
        )
        crashed = False
        try:
            code = do_sync(
                runner, settings, repo, branch, path, console, converge=converge,
                trigger=trigger, keyring=keyring,
                asked_by={"deliveries": deliveries} if deliveries else None,
            )  # fmt: skip
        except Exception as err:
            # Anything a cycle raises (a bug, the state unreachable mid-run): the loop must
            # outlive one bad cycle, so it says so, logs the traceback and waits for the next;
            # a stop (KeyboardInterrupt, SystemExit) is no Exception and still ends it.
            console.print(f"[red]cycle failed:[/red] {err}")
            _log.error("cycle failed", exc_info=True)
            code, crashed = 1, True
        # Healthy is "getting somewhere": a refused head (the commit in force converging
        # meanwhile) or refused drift is plumb at work; a run that failed, or a crash, is not.
        status.cycle_ended(1 if crashed or outcomes["failed"] else 0, crashed)
        logs.emit("cycle-ended", exitCode=code, runs=dict(outcomes), crashed=crashed)
        return code

    return cycle


def _scheduled(
    cycle: Callable[[list[str]], int], interval: int, jitter: int | None
) -> tuple[BackgroundScheduler, CycleGate]:
    """The cycle job every `interval` seconds (plus jitter), behind the gate that folds a
    job falling due mid-cycle, and any pushes, into one more cycle."""
    scheduler = BackgroundScheduler()
    gate = CycleGate(cycle)
    scheduler.add_job(
        gate.run,
        "interval",
        id=CYCLE_JOB,
        seconds=interval,
        jitter=default_jitter(interval) if jitter is None else jitter,
        # A second instance only tells the gate to go round once more; late runs are not
        # dropped (misfire_grace_time None) but folded into one (coalesce).
        max_instances=2,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.datetime.now(),
    )
    return scheduler, gate


def _set_all(*flags: threading.Event) -> None:
    for flag in flags:
        flag.set()


def _on_stop_signals(stop: Callable[[], object]) -> None:
    """The handler only sets flags: it may interrupt the main thread anywhere."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
