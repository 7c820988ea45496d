"""Observation: every kind, once per region, in parallel; a failed read is never "absent".

Each reconciler reads all resources of its kind for all stacks in scope with one
tag-filtered describe where the API allows, so a no-op run costs about one read per kind.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.errors import ERR_OBSERVE
from controller.kinds.errors import error_code, error_message
from controller.kinds.registry import REGISTRY, load_all, reconciler_for
from controller.model import Observed, Resource


@dataclass
class Observation:
    observed: dict[str, Observed] = field(default_factory=dict)
    # (region, kind) -> why it could not be read; its resources are unknown this run
    failed: dict[tuple[str, str], str] = field(default_factory=dict)

    def kind_failed(self, region: str, kind: str) -> str | None:
        return self.failed.get((region, kind))


def contexts_for(
    clients: ClientFactory, resources: Iterable[Resource], stacks: Iterable[str], region: str
) -> dict[str, Context]:
    """One Context per region in play, each scoped to the stacks that live there."""
    by_region: dict[str, set[str]] = defaultdict(set)
    for res in resources:
        by_region[res.region].add(res.stack)
    for stack in stacks:
        if not any(stack in s for s in by_region.values()):
            by_region[region].add(stack)
    return {r: Context(clients, r, s) for r, s in by_region.items()}


def observe_all(
    resources: list[Resource],
    contexts: dict[str, Context],
    workers: int = 8,
    kinds: Collection[str] | None = None,
) -> Observation:
    """What AWS holds of every kind in every region in play, or of `kinds` only."""
    load_all()
    wanted: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    for res in resources:
        wanted[(res.region, res.kind)].append(res)
    jobs = [
        (region, kind)
        for region in sorted(contexts)
        for kind in sorted(REGISTRY)
        if kinds is None or kind in kinds
    ]
    result = Observation()
    with cf.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {
            pool.submit(
                reconciler_for(kind).observe, wanted.get((region, kind), []), contexts[region]
            ): (region, kind)
            for region, kind in jobs
        }
        for fut in cf.as_completed(futures):
            region, kind = futures[fut]
            try:
                found = fut.result()
            except Exception as err:  # any failure makes the kind unknown, never empty
                result.failed[(region, kind)] = ERR_OBSERVE.format(
                    kind=kind,
                    region=region,
                    code=error_code(err) or type(err).__name__,
                    message=error_message(err),
                )
                continue
            for lid, obs in found.items():
                result.observed[lid] = obs
    return result
