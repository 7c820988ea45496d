"""The names plumb derives from an Environment's product and env, and the rules each AWS
service holds them to: a name AWS would refuse is refused at validation, pointing at the
part (product or env) that breaks it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from controller.kinds.document import Path

Issue = tuple[Path, str]

NameRule = Callable[[str], str | None]
S3_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why S3 refuses `name` as a general purpose bucket's name, or None."""
    if not 3 <= len(name) <= 63:
        return f"is {len(name)} characters long; S3 allows 3 to 63"
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        return "may only hold lowercase letters, digits, dots and hyphens"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a letter or digit"
    if ".." in name:
        return "must not hold two adjacent dots"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "must not look like an IP address"
    for prefix in S3_PREFIXES:
        if name.startswith(prefix):
            return f"must not begin with '{prefix}' (S3 reserves it)"
    for suffix in S3_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with '{suffix}' (S3 reserves it)"
    return None


def _id_problem(limit: int, strict: bool = True, reserved: str = "") -> NameRule:
    """Names of letters, digits and hyphens, at most `limit` long, not ending in a hyphen.

    `strict` (ElastiCache, DocumentDB ids): also beginning with a letter, and without two
    hyphens in a row.
    """

    def problem(name: str) -> str | None:
        if len(name) > limit:
            return f"is {len(name)} characters long; at most {limit} are allowed"
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            return "may only hold letters, digits and hyphens"
        if name.startswith("-") or name.endswith("-"):
            return "must not begin or end with a hyphen"
        if strict and not name[0].isalpha():
            return "must begin with a letter"
        if strict and "--" in name:
            return "must not hold two hyphens in a row"
        if reserved and name.startswith(reserved):
            return f"must not begin with '{reserved}'"
        return None

    return problem


def _role_problem(name: str) -> str | None:
    if len(name) > 64:
        return f"is {len(name)} characters long; at most 64 are allowed"
    return None if re.fullmatch(r"[\w+=,.@-]+", name) else "holds characters IAM refuses"


# (sections any of which makes the name exist ("" = always), suffix, what it names, rule)
NAME_RULES: tuple[tuple[tuple[str, ...], str, str, NameRule], ...] = (
    (("",), "-storage", "S3 bucket", bucket_name_problem),
    (("loadBalancer",), "-alb", "load balancer", _id_problem(32, False, "internal-")),
    (("loadBalancer",), "-app", "target group", _id_problem(32, False)),
    (("redis",), "-redis", "ElastiCache replication group id", _id_problem(40)),
    (("documentdb",), "-docdb", "DocumentDB cluster id", _id_problem(63)),
    (("service", "models"), "-task", "IAM role", _role_problem),
    (("service",), "-execution", "IAM role", _role_problem),
)


def name_issues(product: str, env: str, spec: Mapping[str, Any]) -> list[Issue]:
    out: list[Issue] = []
    for sections, suffix, what, rule in NAME_RULES:
        if not any(s == "" or s in spec for s in sections):
            continue
        name = f"{product}-{env}{suffix}"
        problem = rule(name)
        if problem:
            culprit = _culprit(product, env, problem)
            out.append(
                (
                    ("metadata", culprit),
                    f"the {what} name '{name}' (from product and env) {problem}",
                )
            )
    return out


def _culprit(product: str, env: str, problem: str) -> str:
    """Which of product and env to point at: the one that makes the name fail."""
    if "characters long" in problem:
        return "env" if len(env) > len(product) else "product"
    if "hyphen" in problem and ("--" in env or env.endswith("-")):
        return "env"
    return "product"
