"""The listener kind: a port and protocol of a load balancer, its certificate and TLS policy
(HTTPS), and its one default action (forward to a target group, or redirect).

What makes it risky, and where it is handled:
  - Listeners cannot be listed by tag, nor at all without naming their load balancer. One
    paginated DescribeLoadBalancers with DescribeTags in batches of 20
    (`_load_balancers`) finds the load balancers a stack in scope
    owns, plus any a desired listener names; DescribeListeners runs once per such load
    balancer, and the listeners' own tags (batches of 20) decide ownership. A listener on
    the port a desired listener wants, without its tags, is `owned=False`.
  - AWS fills in a redirect's Host "#{host}", Path "/#{path}" and Query "#{query}", and
    reports a forward both as TargetGroupArn and as a ForwardConfig. The observed action
    is projected onto the spec's shape (`_action`), keeping only what differs from those
    defaults, and compared exactly as a whole: an action changed by hand (a redirect to
    another host) is drift, AWS's own spelling is not.
  - CreateListener is idempotent for the same settings (the answer's tags are checked,
    `ElbKind.claimed`); with other settings it answers DuplicateListener, and a listener of
    ours on that port (a create whose answer was lost) is adopted (`ElbKind.adopt`).
  - Every drifted field is repaired by one ModifyListener carrying only those fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope
from controller.kinds.iam_scope import arn as iam_arn
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._elbv2 import (
    SERVICE,
    TAGS,
    TERMINAL,
    ElbKind,
    Raw,
    Tagged,
    grants,
    tagged,
)

_NOT_FOUND = "ListenerNotFound"
_LB_NOT_FOUND = "LoadBalancerNotFound"
# What AWS writes into a redirect the spec does not spell out: not drift.
_REDIRECT_DEFAULTS = {"Host": "#{host}", "Path": "/#{path}", "Query": "#{query}"}

_LB = iam_arn("elasticloadbalancing", "loadbalancer/app/{name:LoadBalancer}/*")
_LISTENER = iam_arn("elasticloadbalancing", "listener/app/{name:LoadBalancer}/*/*")


_ACTIONS = (
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:DeleteListener",
)


@register
class Listener(ElbKind):
    """A load balancer listener, found through the load balancers and by its own tags."""

    descriptor = Descriptor(
        "Listener",
        SERVICE,
        not_found_codes=frozenset({_NOT_FOUND}),
        terminal_codes=TERMINAL
        | {
            "DuplicateListener",
            "TooManyListeners",
            "TooManyCertificates",
            "CertificateNotFound",
            "UnsupportedProtocol",
            "SSLPolicyNotFound",
            "IncompatibleProtocols",
            "InvalidLoadBalancerAction",
            "TargetGroupAssociationLimit",
        },
        requires=("LoadBalancer", "TargetGroup"),
        iam=grants(
            _ACTIONS,
            _LISTENER,
            Scope(("elasticloadbalancing:CreateListener",), (_LB,)),
            Scope(
                ("elasticloadbalancing:ModifyListener", "elasticloadbalancing:DeleteListener"),
                (_LISTENER,),
            ),
        ),
        tags=TAGS,
    )
    describe_op, list_key, arn_key = "describe_listeners", "Listeners", "ListenerArn"
    exists_code = "DuplicateListener"
    identity = (("loadBalancerArn", "LoadBalancerArn"), ("port", "Port"))

    def _list(self, ctx: Context, desired: Sequence[Resource]) -> list[Tagged]:
        # A desired listener may name a load balancer plumb does not own; unresolved
        # references (dicts) name none yet.
        named = {v for r in desired if isinstance(v := r.spec.get("loadBalancerArn"), str)}
        balancers = [lb.arn for lb in _load_balancers(ctx) if ctx.owns(lb.tags) or lb.arn in named]
        listed: list[Raw] = []
        for arn in balancers:
            # Deleted since it was listed: its listeners went with it.
            with ignoring({_LB_NOT_FOUND}):
                listed += ctx.describe(
                    SERVICE, self.describe_op, self.list_key, LoadBalancerArn=arn
                )
        return tagged(ctx, listed, self.arn_key)

    def _to_observed(
        self, item: Tagged, logical_id: str, ctx: Context, desired: Resource | None
    ) -> Observed:
        return self.observed(item, logical_id, ctx, _spec(item.raw), {})

    def create_item(self, desired: Resource, ctx: Context) -> Raw:
        spec = desired.spec
        out = ctx.elbv2.create_listener(
            LoadBalancerArn=spec["loadBalancerArn"],
            Protocol=spec["protocol"],
            Port=int(spec["port"]),
            DefaultActions=[_aws_action(spec["defaultAction"])],
            Tags=ctx.tag_list(desired),
            **_tls(spec, ("certificateArn", "sslPolicy")),
        )
        return dict(out["Listeners"][0])

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        spec = desired.spec
        params = _tls(spec, [f for f in ("certificateArn", "sslPolicy") if diff.changed(f)])
        if diff.changed("protocol"):
            params["Protocol"] = spec["protocol"]
        if diff.changed("defaultAction"):
            params["DefaultActions"] = [_aws_action(spec["defaultAction"])]
        if params:
            # One call for every drifted field: a protocol change to HTTPS carries its
            # certificate and policy with it, as AWS requires.
            ctx.elbv2.modify_listener(ListenerArn=observed.physical_id, **params)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # A listener whose load balancer is gone is gone too.
        with ignoring(self.descriptor.not_found_codes | {_LB_NOT_FOUND}):
            ctx.elbv2.delete_listener(ListenerArn=observed.physical_id)


def _load_balancers(ctx: Context) -> list[Tagged]:
    """Every load balancer in the region, with its tags."""
    listed = ctx.describe(SERVICE, "describe_load_balancers", "LoadBalancers")
    return tagged(ctx, listed, "LoadBalancerArn")


def _tls(spec: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """Certificates and SslPolicy for the named fields, only for HTTPS (HTTP takes none)."""
    if spec.get("protocol") != "HTTPS":
        return {}
    params: dict[str, Any] = {}
    if "certificateArn" in fields and spec.get("certificateArn"):
        params["Certificates"] = [{"CertificateArn": spec["certificateArn"]}]
    if "sslPolicy" in fields and spec.get("sslPolicy"):
        params["SslPolicy"] = spec["sslPolicy"]
    return params


def _spec(raw: Raw) -> dict[str, Any]:
    spec = {
        "loadBalancerArn": raw["LoadBalancerArn"],
        "port": raw["Port"],
        "protocol": raw.get("Protocol"),
        "defaultAction": _action(raw.get("DefaultActions") or []),
    }
    if raw.get("Protocol") == "HTTPS":
        # DescribeListeners lists the default certificate only.
        certificates = raw.get("Certificates") or [{}]
        spec["certificateArn"] = certificates[0].get("CertificateArn")
        spec["sslPolicy"] = raw.get("SslPolicy")
    return spec


def _action(actions: Sequence[Raw]) -> Any:
    """The spec's shape of the default action; several actions (an authenticate step
    before the forward) stay a list, which no spec equals, so they show as drift."""
    shaped = [_shape(a) for a in sorted(actions, key=lambda a: a.get("Order", 0))]
    return shaped[0] if len(shaped) == 1 else shaped


def _shape(action: Raw) -> dict[str, Any]:
    kind = action.get("Type")
    if kind == "forward":
        groups = [action["TargetGroupArn"]] if action.get("TargetGroupArn") else []
        forward = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        groups = groups or [g["TargetGroupArn"] for g in forward]
        return {"type": kind, "targetGroupArn": groups[0] if len(groups) == 1 else sorted(groups)}
    if kind == "redirect":
        config = action.get("RedirectConfig") or {}
        shaped = {
            "type": kind,
            "protocol": config.get("Protocol"),
            "port": config.get("Port"),
            "statusCode": config.get("StatusCode"),
        }
        for key, default in _REDIRECT_DEFAULTS.items():
            if config.get(key) not in (None, default):
                shaped[key.lower()] = config[key]
        return shaped
    return {"type": kind}


def _aws_action(action: Mapping[str, Any]) -> dict[str, Any]:
    if action["type"] == "forward":
        return {"Type": "forward", "TargetGroupArn": action["targetGroupArn"]}
    config = {"Protocol": action["protocol"], "Port": str(action["port"])}
    return {"Type": "redirect", "RedirectConfig": {**config, "StatusCode": action["statusCode"]}}
