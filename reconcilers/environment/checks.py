"""Semantic checks of an Environment: what its JSON Schema cannot say.

The network must be addressable (CIDRs that are network addresses, subnets inside the VPC
and apart, one of each per availability zone of the region), the names plumb derives from
product and env must be ones each AWS service accepts, secrets must be given by name and
never by value, and Bedrock model ids must be ids this region can call. Each check returns
(path, message) pairs; the engine adds file, line and column. The document has passed its
schema, so every field the schema requires is present and has the right type.

No message ever quotes a value that might be a secret.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from controller.kinds.document import Document, Path, dotted
from controller.kinds.registry import semantic_check
from reconcilers._bedrock import geography_problem, parse_model_id
from reconcilers.environment.data_checks import data_issues
from reconcilers.environment.name_checks import name_issues
from reconcilers.environment.secret_checks import (  # noqa: F401  (re-exported)
    SECRET_VALUE,
    looks_like_credential,
    secret_issues,
    secret_name_problem,
)

Issue = tuple[Path, str]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SPEC: Path = ("spec",)
NET: Path = ("spec", "network")
IN_VPC = ("loadBalancer", "service", "documentdb", "redis")


@semantic_check("Environment")
def check_environment(doc: Document) -> list[Issue]:
    spec: Mapping[str, Any] = doc.body.get("spec") or {}
    meta = doc.metadata
    region = str(meta["region"])
    return [
        *section_issues(spec),
        *network_issues(spec.get("network"), region),
        *name_issues(str(meta["product"]), str(meta["env"]), spec),
        *load_balancer_issues(spec.get("loadBalancer"), region),
        *service_issues(spec.get("service")),
        *secret_issues(spec),
        *model_issues(spec.get("models"), region),
        *data_issues(spec),
    ]


def section_issues(spec: Mapping[str, Any]) -> list[Issue]:
    if "network" in spec:
        return []
    return [
        ((*SPEC, name), f"{name} runs in the stack's VPC: it needs a spec.network section")
        for name in IN_VPC
        if name in spec
    ]


# -- network ----------------------------------------------------------------------------


def parse_cidr(text: str, path: Path, out: list[Issue]) -> Network | None:
    """The network `text` names, or None; what is wrong with it is added to `out`.

    A CIDR with host bits set is reported, and its network is still returned, so the
    other checks go on with what the user meant.
    """
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        meant = ipaddress.ip_network(text, strict=False)
    except ValueError:
        out.append((path, f"{text} is not a valid IPv4 CIDR block"))
        return None
    out.append((path, f"{text} is not a network address; did you mean {meant}?"))
    return meant


def network_issues(net: Mapping[str, Any] | None, region: str) -> list[Issue]:
    if not net:
        return []
    out: list[Issue] = []
    vpc = parse_cidr(net["cidr"], (*NET, "cidr"), out)
    if vpc is not None and not 16 <= vpc.prefixlen <= 28:
        out.append(((*NET, "cidr"), f"a VPC's prefix must be /16 to /28, not /{vpc.prefixlen}"))
    zones: Sequence[str] = net["availabilityZones"]
    out += zone_issues(zones, region)
    out += subnet_issues(net, vpc, len(zones))
    allowed = sorted({0, 1, len(zones)})
    if net["natGateways"] not in allowed:
        choices = " or ".join(", ".join(map(str, allowed)).rsplit(", ", 1))
        out.append(
            (
                (*NET, "natGateways"),
                f"must be {choices}: none, one shared, or one per availability zone",
            )
        )
    return out


def zone_issues(zones: Sequence[str], region: str) -> list[Issue]:
    out: list[Issue] = []
    first: dict[str, int] = {}
    own_zone = re.compile(rf"^{re.escape(region)}[a-z]$")
    for index, zone in enumerate(zones):
        path = (*NET, "availabilityZones", index)
        if zone in first:
            out.append((path, f"{zone} is listed twice (first at [{first[zone]}])"))
            continue
        first[zone] = index
        if not own_zone.match(zone):
            out.append(
                (
                    path,
                    f"{zone} is not an availability zone of {region} "
                    f"(metadata.region); those are named {region}a, {region}b, ...",
                )
            )
    return out


def subnet_issues(net: Mapping[str, Any], vpc: Network | None, zones: int) -> list[Issue]:
    out: list[Issue] = []
    seen: list[tuple[Path, Network]] = []
    for group in ("publicSubnets", "privateSubnets"):
        items: Sequence[str] = net[group]
        if len(items) != zones:
            out.append(
                (
                    (*NET, group),
                    f"{len(items)} subnet(s) for {zones} availability zone(s): "
                    "give one per AZ, in the order of availabilityZones",
                )
            )
        for index, text in enumerate(items):
            path = (*NET, group, index)
            subnet = parse_cidr(text, path, out)
            if subnet is None:
                continue
            if vpc is not None and not _inside(subnet, vpc):
                out.append((path, f"{subnet} is not inside the VPC's {vpc} (spec.network.cidr)"))
            elif not 16 <= subnet.prefixlen <= 28:
                out.append((path, f"a subnet's prefix must be /16 to /28, not /{subnet.prefixlen}"))
            for other_path, other in seen:
                if subnet.overlaps(other):
                    rel = dotted(other_path[len(NET) :])
                    out.append((path, f"{subnet} overlaps {rel} ({other})"))
            seen.append((path, subnet))
    return out


# -- load balancer and service ----------------------------------------------------------

FARGATE_MEMORY: dict[int, Sequence[int]] = {
    256: (512, 1024, 2048),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


def load_balancer_issues(lb: Mapping[str, Any] | None, region: str) -> list[Issue]:
    if not lb:
        return []
    out: list[Issue] = []
    base: Path = (*SPEC, "loadBalancer")
    cert_region = str(lb["certificateArn"]).split(":")[3]
    if cert_region != region:
        out.append(
            (
                (*base, "certificateArn"),
                f"the certificate is in {cert_region}; a load "
                f"balancer in {region} needs one from {region}",
            )
        )
    for index, text in enumerate(lb.get("allowedCidrs") or []):
        parse_cidr(text, (*base, "allowedCidrs", index), out)
    return out


def service_issues(service: Mapping[str, Any] | None) -> list[Issue]:
    if not service:
        return []
    out: list[Issue] = []
    base: Path = (*SPEC, "service")
    cpu, memory = service.get("cpu", 256), service.get("memory", 512)
    sizes = FARGATE_MEMORY.get(cpu, ())
    if sizes and memory not in sizes:
        if isinstance(sizes, range):
            allowed = f"{sizes.start} to {sizes.stop - 1} MiB in steps of {sizes.step}"
        else:
            allowed = " or ".join(map(str, sizes)) + " MiB"
        out.append(
            (
                (*base, "memory"),
                f"Fargate cannot give {memory} MiB to {cpu} CPU units: "
                f"with cpu {cpu}, memory may be {allowed}",
            )
        )
    plain = service.get("environment") or {}
    for name in service.get("secrets") or {}:
        if name in plain:
            out.append(
                (
                    (*base, "secrets", name),
                    f"{name} is also set in service.environment; give each variable once",
                )
            )
    return out


# -- models -----------------------------------------------------------------------------


def model_issues(models: Mapping[str, Any] | None, region: str) -> list[Issue]:
    bedrock = (models or {}).get("bedrock")
    if not bedrock:
        return []
    out: list[Issue] = []
    first: dict[str, int] = {}
    for index, model_id in enumerate(bedrock["models"]):
        path = (*SPEC, "models", "bedrock", "models", index)
        if model_id in first:
            out.append((path, f"'{model_id}' is listed twice (first at models[{first[model_id]}])"))
            continue
        first[model_id] = index
        ref = parse_model_id(model_id)
        if ref is None:
            out.append(
                (
                    path,
                    f"'{model_id}' is not a Bedrock model id: give a foundation-model "
                    "id (anthropic.claude-3-haiku-20240307-v1:0) or an inference "
                    "profile id (us.anthropic.claude-3-5-haiku-20241022-v1:0)",
                )
            )
            continue
        problem = geography_problem(ref, region)
        if problem:
            out.append((path, problem))
    return out


def _inside(subnet: Network, vpc: Network) -> bool:
    if isinstance(subnet, ipaddress.IPv4Network) and isinstance(vpc, ipaddress.IPv4Network):
        return subnet.subnet_of(vpc)
    if isinstance(subnet, ipaddress.IPv6Network) and isinstance(vpc, ipaddress.IPv6Network):
        return subnet.subnet_of(vpc)
    return False  # one address family inside the other: never
