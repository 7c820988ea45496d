"""Expansion of the Environment's network section and of the security groups of its traffic
paths (docs/design.md, The stack).

Logical ids, which other sections refer to:
  network/vpc, network/subnet-public-{az}, network/subnet-private-{az}, network/igw,
  network/nat-eip-{az} and network/nat-{az} (first AZ only with natGateways 1),
  network/rt-public, network/rt-private-{az}, network/sg-alb, network/sg-app,
  network/sg-docdb, network/sg-redis.
Subnet i of publicSubnets and of privateSubnets goes to availability zone i.

Security groups allow the traffic paths and nothing else, and exist only when the section
they serve does. Ingress names the upstream group (sg-app admits sg-alb; sg-docdb and
sg-redis admit sg-app); egress names the downstream group (sg-alb sends to sg-app, sg-app
to sg-docdb and sg-redis). The two directions refer to each other, so egress references
are late (controller/engine/graph.py): they do not order the graph, and apply adds those rules
once both groups exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.model import Resource
from reconcilers.environment.view import StackView, ref

ANYWHERE = "0.0.0.0/0"
HTTPS, HTTP, MONGODB, REDIS = 443, 80, 27017, 6379
NO_NAT = (
    "natGateways is 0, so the service cannot pull its image: no NAT gateway and no VPC endpoints"
)
VPC = "network/vpc"


@dataclass(frozen=True)
class Layout:
    """Where things go: subnets by AZ, and which AZs hold a NAT gateway."""

    cidr: str
    public: tuple[tuple[str, str], ...]  # (az, cidr)
    private: tuple[tuple[str, str], ...]
    nat_azs: tuple[str, ...]

    @classmethod
    def of(cls, net: Mapping[str, Any]) -> Layout:
        azs = [str(az) for az in net["availabilityZones"]]
        public = tuple(zip(azs, map(str, net.get("publicSubnets") or ()), strict=False))
        private = tuple(zip(azs, map(str, net.get("privateSubnets") or ()), strict=False))
        count = int(net["natGateways"])
        public_azs = [az for az, _ in public]
        # 1 is one shared gateway in the first public subnet; more is one per AZ.
        nat_azs = public_azs[:1] if count == 1 else public_azs[:count]
        return cls(str(net["cidr"]), public, private, tuple(nat_azs))

    def nat_for(self, az: str) -> str | None:
        if not self.nat_azs:
            return None
        return az if az in self.nat_azs else self.nat_azs[0]


def expand(view: StackView) -> list[Resource]:
    net = view.section("network")
    if net is None:
        return []
    layout = Layout.of(net)
    return [
        *_vpc_and_subnets(view, layout),
        *_gateways(view, layout),
        *_route_tables(view, layout),
        *_security_groups(view, layout),
    ]


def _network(
    view: StackView, kind: str, name: str, spec: Mapping[str, Any], path: tuple[str | int, ...] = ()
) -> Resource:
    return view.resource(
        kind, f"network/{name}", spec, path=("network", *path), deletion_policy="Delete"
    )


def _vpc_and_subnets(view: StackView, layout: Layout) -> list[Resource]:
    out = [
        _network(
            view,
            "Vpc",
            "vpc",
            {"cidr": layout.cidr, "enableDnsSupport": True, "enableDnsHostnames": True},
            ("cidr",),
        )
    ]
    for tier, subnets in (("public", layout.public), ("private", layout.private)):
        for index, (az, cidr) in enumerate(subnets):
            spec = {
                "vpcId": ref(VPC),
                "cidr": cidr,
                "availabilityZone": az,
                "mapPublicIpOnLaunch": tier == "public",
            }
            out.append(
                _network(view, "Subnet", f"subnet-{tier}-{az}", spec, (f"{tier}Subnets", index))
            )
    return out


def _gateways(view: StackView, layout: Layout) -> list[Resource]:
    if not layout.public:
        return []
    out = [_network(view, "InternetGateway", "igw", {"vpcId": ref(VPC)})]
    for az in layout.nat_azs:
        out.append(
            _network(view, "ElasticIp", f"nat-eip-{az}", {"domain": "vpc"}, ("natGateways",))
        )
        out.append(
            _network(
                view,
                "NatGateway",
                f"nat-{az}",
                {
                    "subnetId": ref(f"network/subnet-public-{az}"),
                    "allocationId": ref(f"network/nat-eip-{az}", "allocationId"),
                },
                ("natGateways",),
            )
        )
    return out


def _route_tables(view: StackView, layout: Layout) -> list[Resource]:
    out = []
    if layout.public:
        out.append(
            _network(
                view,
                "RouteTable",
                "rt-public",
                {
                    "vpcId": ref(VPC),
                    "routes": [{"destination": ANYWHERE, "gatewayId": ref("network/igw")}],
                    "associations": [ref(f"network/subnet-public-{az}") for az, _ in layout.public],
                },
                ("publicSubnets",),
            )
        )
    no_pull = view.section("service") is not None and not layout.nat_azs
    for az, _ in layout.private:
        nat = layout.nat_for(az)
        routes = (
            [{"destination": ANYWHERE, "natGatewayId": ref(f"network/nat-{nat}")}] if nat else []
        )
        table = _network(
            view,
            "RouteTable",
            f"rt-private-{az}",
            {
                "vpcId": ref(VPC),
                "routes": routes,
                "associations": [ref(f"network/subnet-private-{az}")],
            },
            ("privateSubnets",),
        )
        out.append(dataclasses.replace(table, warnings=(NO_NAT,)) if no_pull else table)
    return out


# -- security groups ------------------------------------------------------------------


def _rule(
    port: int, description: str, *, cidr: str = "", group: str = "", late: bool = False
) -> dict[str, Any]:
    target = ref(f"network/{group}") | ({"late": True} if late else {})
    peer = {"cidr": cidr} if cidr else {"sourceGroupId": target}
    return {"protocol": "tcp", "fromPort": port, "toPort": port, **peer, "description": description}


def _security_groups(view: StackView, layout: Layout) -> list[Resource]:
    lb, svc = view.section("loadBalancer"), view.section("service")
    port = int(svc["port"]) if svc is not None else 0
    out = []
    if lb is not None:
        out.append(_alb_group(view, lb, port))
    if svc is not None:
        out.append(_app_group(view, port, lb is not None))
    for role, section, what, db_port in (
        ("docdb", "documentdb", "DocumentDB", MONGODB),
        ("redis", "redis", "Redis", REDIS),
    ):
        if view.section(section) is not None:
            ingress = [_rule(db_port, "from the service", group="sg-app")] if svc else []
            out.append(_group(view, role, what, section, ingress, []))
    return out


def _alb_group(view: StackView, lb: Mapping[str, Any], port: int) -> Resource:
    ingress = [
        rule
        for cidr in lb.get("allowedCidrs") or [ANYWHERE]
        for rule in (
            _rule(HTTPS, f"HTTPS from {cidr}", cidr=cidr),
            _rule(HTTP, f"HTTP from {cidr}, redirected to HTTPS", cidr=cidr),
        )
    ]
    egress = [_rule(port, "to the service", group="sg-app", late=True)] if port else []
    return _group(view, "alb", "load balancer", "loadBalancer", ingress, egress)


def _app_group(view: StackView, port: int, behind_lb: bool) -> Resource:
    ingress = [_rule(port, "from the load balancer", group="sg-alb")] if behind_lb else []
    egress = [
        *(
            [_rule(MONGODB, "to DocumentDB", group="sg-docdb", late=True)]
            if view.section("documentdb") is not None
            else []
        ),
        *(
            [_rule(REDIS, "to Redis", group="sg-redis", late=True)]
            if view.section("redis") is not None
            else []
        ),
        _rule(HTTPS, "HTTPS to ECR, AWS APIs and Azure OpenAI", cidr=ANYWHERE),
    ]
    return _group(view, "app", "service tasks", "service", ingress, egress)


def _group(
    view: StackView,
    role: str,
    what: str,
    section: str,
    ingress: list[dict[str, Any]],
    egress: list[dict[str, Any]],
) -> Resource:
    return view.resource(
        "SecurityGroup",
        f"network/sg-{role}",
        {
            "groupName": f"{view.stack}-{role}",
            "description": f"{view.stack} {what}",
            "vpcId": ref(VPC),
            "ingress": ingress,
            "egress": egress,
        },
        path=(section,),
        deletion_policy="Delete",
    )
