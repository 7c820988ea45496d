"""The loop's metrics: a run reported to `record_run` moves the counters it should."""

from __future__ import annotations

from prometheus_client import generate_latest

from controller.engine.observe import Observation
from controller.engine.outcome import APPLIED, FAILED, Outcome
from controller.engine.plan import Plan, PlanOptions
from controller.engine.runner import RunResult
from controller.loop.metrics import Metrics
from controller.model import Action, ActionType, FieldChange, Resource

A = ActionType
PROD, STAGING = "acme-prod", "acme-staging"
DRIFT = (FieldChange("lifecycle.expireAfterDays", 7, 30),)


def made_up_run(
    actions: list[Action],
    outcomes: dict[str, Outcome] | None = None,
    outcome: str = "succeeded",
    scheduled: bool = True,
    calls: dict | None = None,
) -> RunResult:
    resources = {
        a.logical_id: Resource(a.kind, a.logical_id, {}, "us-east-1")
        for a in actions
        if a.type is not A.DELETE
    }
    plan = Plan(actions, resources, {}, Observation(), PlanOptions(scheduled=scheduled))
    return RunResult(1, plan, outcome, outcomes or {}, calls or {}, seconds=4.2)


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_a_run_counts_by_outcome_and_its_duration_is_observed() -> None:
    metrics = Metrics()
    metrics.record_run(made_up_run([], outcome="succeeded"))
    metrics.record_run(made_up_run([], outcome="failed"))
    metrics.record_run(made_up_run([], outcome="succeeded"))
    assert _value(metrics, "plumb_runs_total", outcome="succeeded") == 2
    assert _value(metrics, "plumb_runs_total", outcome="failed") == 1
    assert _value(metrics, "plumb_run_duration_seconds_count") == 3
    assert _value(metrics, "plumb_run_duration_seconds_bucket", le="5.0") == 3


def test_api_calls_and_retries_are_counted_by_service_and_operation() -> None:
    metrics = Metrics()
    calls = {
        "byOperation": {"ec2:DescribeVpcs": 4, "s3:ListBuckets": 1},
        "retriesByOperation": {"ec2:DescribeVpcs": 2},
    }
    metrics.record_run(made_up_run([], calls=calls))
    metrics.record_run(made_up_run([], calls=calls))
    labels = {"service": "ec2", "operation": "DescribeVpcs"}
    assert _value(metrics, "plumb_api_calls_total", **labels) == 8
    assert _value(metrics, "plumb_api_retries_total", **labels) == 4
    assert _value(metrics, "plumb_api_calls_total", service="s3", operation="ListBuckets") == 2


def test_resources_by_status_follow_the_last_run_of_each_stack() -> None:
    metrics = Metrics()
    vpc, bucket = f"{PROD}/network/vpc", f"{PROD}/storage/bucket"
    prod = [Action(A.NOOP, "K", vpc), Action(A.UPDATE, "K", bucket, changes=DRIFT)]
    metrics.record_run(made_up_run(prod, {bucket: Outcome(FAILED, "AccessDenied")}, "partial"))
    metrics.record_run(made_up_run([Action(A.CREATE, "K", f"{STAGING}/network/vpc")]))
    assert _value(metrics, "plumb_resources", status="in-sync") == 2
    assert _value(metrics, "plumb_resources", status="failed") == 1
    # prod's next run repairs the bucket and deletes the VPC: prod's counts are replaced
    again = [Action(A.UPDATE, "K", bucket, changes=DRIFT), Action(A.DELETE, "K", vpc)]
    metrics.record_run(made_up_run(again, {bucket: Outcome(APPLIED), vpc: Outcome(APPLIED)}))
    assert _value(metrics, "plumb_resources", status="in-sync") == 2, "staging's 1 + prod's 1"
    assert _value(metrics, "plumb_resources", status="failed") == 0, "gone, shown as 0"


def test_drift_is_counted_only_from_scheduled_runs() -> None:
    metrics = Metrics()
    drifted = [
        Action(A.UPDATE, "K", f"{PROD}/storage/bucket", changes=DRIFT),
        Action(A.BLOCKED, "K", f"{PROD}/storage/logs", changes=DRIFT, reason="selfHeal off"),
        Action(A.CREATE, "K", f"{PROD}/network/vpc"),
        Action(A.NOOP, "K", f"{PROD}/network/subnet"),
    ]
    metrics.record_run(made_up_run(drifted, scheduled=True))
    metrics.record_run(made_up_run(drifted, scheduled=False))  # `plumb apply` repairs, not finds
    assert _value(metrics, "plumb_drift_found_total") == 2


def test_webhooks_takeovers_and_last_success_are_exposed_by_name() -> None:
    metrics = Metrics()
    metrics.webhook("bad-signature")
    metrics.webhook("cycle")
    metrics.lease_taken_over(PROD)
    metrics.watch_last_success(lambda: 1_796_180_645.0)
    assert _value(metrics, "plumb_webhook_deliveries_total", outcome="bad-signature") == 1
    assert _value(metrics, "plumb_webhook_deliveries_total", outcome="cycle") == 1
    for outcome in ("replayed", "other-event", "other-branch", "tag", "bad-body"):  # at 0
        assert _value(metrics, "plumb_webhook_deliveries_total", outcome=outcome) == 0
    assert _value(metrics, "plumb_lease_takeovers_total") == 1
    assert _value(metrics, "plumb_last_success_timestamp_seconds") == 1_796_180_645.0
    text = generate_latest(metrics.registry).decode()
    for name in ("plumb_runs_total", "plumb_resources", "plumb_api_calls_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in text


def test_each_metrics_has_a_registry_of_its_own() -> None:
    first, second = Metrics(), Metrics()  # the global registry would refuse the second
    first.webhook("cycle")
    assert _value(second, "plumb_webhook_deliveries_total", outcome="cycle") == 0
