"""`plumb run`: one sync cycle every interval, with an HTTP endpoint beside it.

APScheduler drives the cycle (never two at once: max_instances=1, coalesce). The endpoint
(endpoint.py) answers /healthz and /readyz from the loop's status, /metrics from the runs
the runner reports, and a signed POST /sync asks for a cycle now: the cycle job is made due
at once, or, when a cycle is running, goes round once more after it (cycle_gate.py).
"""

from __future__ import annotations

import contextlib
import datetime
import os

from apscheduler.schedulers.blocking import BlockingScheduler
from rich.console import Console

from controller.config import Settings
from controller.cycle_gate import CycleGate
from controller.endpoint import Endpoint
from controller.loop_status import LoopStatus
from controller.metrics import Metrics
from controller.runner import Runner
from controller.webhook import SECRET_ENV

CYCLE_JOB = "plumb-cycle"


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
) -> int:
    from controller.sync_cycle import do_sync

    status = LoopStatus(interval)
    metrics = Metrics()
    metrics.watch_last_success(lambda: status.last_success_at)
    runner.on_run = metrics.record_run
    runner.on_lease_takeover = metrics.lease_taken_over

    def cycle() -> int:
        status.cycle_started()
        crashed = False
        try:
            code = do_sync(runner, settings, repo, branch, path, console, trigger="schedule")
        except Exception as err:  # the loop must outlive one bad cycle
            console.print(f"[red]cycle failed:[/red] {err}")
            code, crashed = 1, True
        status.cycle_ended(code, crashed)
        return code

    if once:
        return cycle()
    scheduler = BlockingScheduler()
    gate = CycleGate(cycle)
    scheduler.add_job(
        gate.run,
        "interval",
        id=CYCLE_JOB,
        seconds=interval,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.datetime.now(),
    )
    trigger = gate.trigger_for(scheduler, CYCLE_JOB)
    endpoint = Endpoint(listen, status, metrics, trigger, os.environ.get(SECRET_ENV)).start()
    console.print(f"plumb run: syncing {repo}#{branch} every {interval} s; {endpoint.describe()}")
    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
    finally:
        endpoint.stop()
    return 0
