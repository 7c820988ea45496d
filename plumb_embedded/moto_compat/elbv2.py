"""ELBv2: four places where moto 5.2 answers differently from AWS, patched to answer as AWS.

- CreateLoadBalancer never finds a name taken (moto checks the new, random ARN), so a
  create repeated after a lost answer made a second load balancer of the same name. AWS
  answers the same settings with the existing load balancer and other settings with
  DuplicateLoadBalancerName.
- CreateListener never finds a port taken (moto looks the port up among listener ARNs), so
  a repeated create made a second listener on one port. AWS answers the same settings with
  the existing listener and other settings with DuplicateListener.
- DescribeLoadBalancerAttributes leaves out idle_timeout.timeout_seconds and
  routing.http.drop_invalid_header_fields.enabled, which AWS always reports for an
  application load balancer (60 and false on a new one).
- DescribeTags takes any number of ARNs; AWS takes at most 20 and answers more with a
  ValidationError, which is what a caller that does not batch must meet in tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from plumb_embedded.moto_compat import patch_for

MAX_TAG_ARNS = 20
_ALB_DEFAULTS = {
    "idle_timeout.timeout_seconds": "60",
    "routing.http.drop_invalid_header_fields.enabled": "false",
}


@patch_for("elbv2")
def patch_unique_names() -> None:
    from moto.elbv2.exceptions import DuplicateLoadBalancerName
    from moto.elbv2.models import ELBv2Backend

    if getattr(ELBv2Backend, "_plumb_unique_names", False):
        return
    create = ELBv2Backend.create_load_balancer

    def create_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _arguments(create, self, *args, **kwargs)
        for balancer in self.load_balancers.values():
            if balancer.name != call["name"]:
                continue
            same = (
                {s.id for s in balancer.subnets} == set(call["subnet_ids"] or [])
                and set(balancer.security_groups) == set(call["security_groups"] or [])
                and balancer.scheme == (call["scheme"] or "internet-facing")
            )
            if same:
                return balancer
            raise DuplicateLoadBalancerName()
        return create(self, *args, **kwargs)

    ELBv2Backend.create_load_balancer = create_once  # type: ignore[method-assign]
    ELBv2Backend._plumb_unique_names = True  # type: ignore[attr-defined]


@patch_for("elbv2")
def patch_unique_ports() -> None:
    from moto.elbv2.exceptions import DuplicateListenerError
    from moto.elbv2.models import ELBv2Backend

    if getattr(ELBv2Backend, "_plumb_unique_ports", False):
        return
    create = ELBv2Backend.create_listener

    def create_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _arguments(create, self, *args, **kwargs)
        balancer = self.load_balancers.get(call["load_balancer_arn"])
        for existing in balancer.listeners.values() if balancer else []:
            if str(existing.port) != str(call["port"]):
                continue
            same = (
                existing.protocol == (call["protocol"] or "").upper()
                and existing.certificate == call["certificate"]
                and existing.ssl_policy == call["ssl_policy"]
                and [a.data for a in existing.default_actions] == call["actions"]
            )
            if same:
                return existing
            raise DuplicateListenerError()
        return create(self, *args, **kwargs)

    ELBv2Backend.create_listener = create_once  # type: ignore[method-assign]
    ELBv2Backend._plumb_unique_ports = True  # type: ignore[attr-defined]


@patch_for("elbv2")
def patch_alb_attribute_defaults() -> None:
    from moto.elbv2.models import FakeLoadBalancer

    if getattr(FakeLoadBalancer, "_plumb_defaults", False):
        return
    init = FakeLoadBalancer.__init__

    def init_with_defaults(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self.type == "application":
            self.attrs = {**_ALB_DEFAULTS, **self.attrs}

    FakeLoadBalancer.__init__ = init_with_defaults  # type: ignore[method-assign]
    FakeLoadBalancer._plumb_defaults = True  # type: ignore[attr-defined]


@patch_for("elbv2")
def patch_describe_tags_limit() -> None:
    from moto.elbv2.exceptions import ValidationError
    from moto.elbv2.models import ELBv2Backend

    if getattr(ELBv2Backend, "_plumb_tag_limit", False):
        return
    describe = ELBv2Backend.describe_tags

    def describe_at_most_20(self: Any, resource_arns: list[str]) -> Any:
        if len(resource_arns) > MAX_TAG_ARNS:
            raise ValidationError(
                f"1 validation error detected: Value at 'resourceArns' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_TAG_ARNS}"
            )
        return describe(self, resource_arns)

    ELBv2Backend.describe_tags = describe_at_most_20  # type: ignore[method-assign]
    ELBv2Backend._plumb_tag_limit = True  # type: ignore[attr-defined]


def _arguments(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The call's arguments by name, defaults included: moto calls these both by keyword
    (the API) and by position (CloudFormation)."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)
