"""The behavioural conformance suite: every registered kind, one contract, against moto.

For each kind its sample (reconcilers/base.py `Sample`) is taken through the whole life of
a resource: create; read back every managed field as the spec says; observe again and
find nothing to do, with no write; one out-of-band change found as drift on the field the
sample names; one update that repairs it with exactly the writes the sample names and
leaves nothing to do; delete, after which nothing of it is observed. A kind whose
resources have fixed names also shows that a create repeated after a lost answer adopts
the resource instead of failing or making a second one. A kind registered
without a sample fails here, so a new kind cannot skip the contract.
"""

from __future__ import annotations

import pytest

import reconcilers
from controller.context import Context
from tests.integration.conformance import KINDS, live, sample_of


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_has_a_conformance_sample(kind: str) -> None:
    sample = sample_of(kind)
    assert sample.drifted and sample.repair, f"{kind}'s sample names no drift or repair"


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_conforms(kind: str, ctx: Context) -> None:
    live(kind, reconcilers.reconciler_for(kind), ctx)
