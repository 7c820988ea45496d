"""The EC2 calls the network kinds' tests read moto through."""

from __future__ import annotations

from typing import Any

import boto3

from tests.conftest import REGION


def ec2() -> Any:
    return boto3.client("ec2", region_name=REGION)


def of_stack(operation: str, key: str, stack: str = "acme-prod") -> list[dict[str, Any]]:
    """What a describe `operation` ("describe_vpcs") lists under `key` ("Vpcs") carrying
    `stack`'s ownership tag."""
    flt = [{"Name": "tag:plumb:stack", "Values": [stack]}]
    return list(getattr(ec2(), operation)(Filters=flt)[key])
