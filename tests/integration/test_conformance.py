"""The behavioural conformance suite: every registered kind, one contract, against moto.

For each kind its sample (reconcilers/base.py `Sample`) is taken through the whole life of
a resource: create; read back every managed field as the spec says; observe again and
find nothing to do, with no write; one out-of-band change found as drift on the field the
sample names; one update that repairs it with exactly the writes the sample names and
leaves nothing to do; delete, after which nothing of it is observed. A kind whose
resources have fixed names also shows that a create repeated after a lost answer adopts
the resource instead of failing or making a second one. Every call the kind's verbs made
in that life must be granted by `plumb iam-policy --kind` for it, the IAM names worked out
apart from what the kind declares (iam_names.py). A kind registered without a sample
fails here, so a new kind cannot skip the contract.
"""

from __future__ import annotations

import pytest

import reconcilers
from controller import iam_policy
from controller.context import Context
from tests.integration.conformance import KINDS, live, record_verbs, sample_of
from tests.integration.iam_names import not_granted


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_has_a_conformance_sample(kind: str) -> None:
    sample = sample_of(kind)
    assert sample.drifted and sample.repair, f"{kind}'s sample names no drift or repair"


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_conforms(kind: str, ctx: Context) -> None:
    rec = reconcilers.reconciler_for(kind)
    calls = record_verbs(rec, ctx)
    live(kind, rec, ctx)
    # `plumb iam-policy --kind K` must grant every call K's life made (issue 10).
    missing = not_granted(calls, iam_policy.build([kind]))
    assert not missing, f"plumb iam-policy --kind {kind} does not grant: {missing}"
