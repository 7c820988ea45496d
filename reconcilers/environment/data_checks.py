"""Semantic checks of an Environment's service image and its data sections: values the
JSON Schema lets through but AWS refuses (or that break a promise plumb makes).

  - service.image.tag "latest": the repository's tags are immutable, so a moving tag
    can never be pushed twice and a rollout could never be told apart from the last one;
  - documentdb.engineVersion / redis.engineVersion: versions the service offers;
  - documentdb.instanceClass / redis.nodeType: families the service runs on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from controller.kinds.document import Path

Issue = tuple[Path, str]
SPEC: Path = ("spec",)

DOCDB_VERSIONS = ("3.6.0", "4.0.0", "5.0.0", "8.0.0")
# Redis OSS on ElastiCache; "7.1" also names any 7.1.x AWS reports.
REDIS_VERSIONS = ("4.0.10", "5.0.6", "6.0", "6.2", "7.0", "7.1")
DOCDB_FAMILIES = ("t3", "t4g", "r4", "r5", "r6g", "r6gd", "r7g", "r8g")
REDIS_FAMILIES = ("t2", "t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r6gd", "r7g", "c7gn")


def data_issues(spec: Mapping[str, Any]) -> list[Issue]:
    return [
        *image_issues(spec.get("service")),
        *documentdb_issues(spec.get("documentdb")),
        *redis_issues(spec.get("redis")),
    ]


def image_issues(service: Mapping[str, Any] | None) -> list[Issue]:
    tag = str(((service or {}).get("image") or {}).get("tag", ""))
    if tag.lower() != "latest":
        return []
    return [
        (
            (*SPEC, "service", "image", "tag"),
            "'latest' cannot run here: plumb keeps the repository's tags immutable, so give "
            'the version to run (such as "1.4.2") and change it to roll out a new one',
        )
    ]


def documentdb_issues(db: Mapping[str, Any] | None) -> list[Issue]:
    if not db:
        return []
    base: Path = (*SPEC, "documentdb")
    out: list[Issue] = []
    version = db.get("engineVersion")
    if version is not None and str(version) not in DOCDB_VERSIONS:
        out.append(
            (
                (*base, "engineVersion"),
                f"DocumentDB offers engine versions {', '.join(DOCDB_VERSIONS)}; "
                f"'{version}' is not one of them",
            )
        )
    out += _family_issue(
        db.get("instanceClass"), "db", DOCDB_FAMILIES, (*base, "instanceClass"), "DocumentDB"
    )
    return out


def redis_issues(redis: Mapping[str, Any] | None) -> list[Issue]:
    if not redis:
        return []
    base: Path = (*SPEC, "redis")
    out: list[Issue] = []
    version = redis.get("engineVersion")
    if version is not None and not _offered_redis(str(version)):
        out.append(
            (
                (*base, "engineVersion"),
                f"ElastiCache offers Redis {', '.join(REDIS_VERSIONS)}; '{version}' is not one "
                "of them",
            )
        )
    out += _family_issue(
        redis.get("nodeType"), "cache", REDIS_FAMILIES, (*base, "nodeType"), "ElastiCache"
    )
    return out


def _offered_redis(version: str) -> bool:
    if version in REDIS_VERSIONS:
        return True
    minors = (v for v in REDIS_VERSIONS if v.count(".") == 1)
    return any(version.startswith(v + ".") for v in minors)


def _family_issue(
    value: Any, prefix: str, families: tuple[str, ...], path: Path, service: str
) -> list[Issue]:
    match = re.fullmatch(rf"{prefix}\.([a-z0-9]+)\.[a-z0-9]+", str(value or ""))
    if value is None or match is None or match.group(1) in families:
        return []
    return [
        (
            path,
            f"{service} has no '{match.group(1)}' family; use one of "
            f"{', '.join(f'{prefix}.{f}' for f in families)} (such as {prefix}.{families[1]}."
            f"{'medium' if prefix == 'db' else 'micro'})",
        )
    ]
