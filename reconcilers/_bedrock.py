"""Amazon Bedrock model ids and the ARNs IAM must name to allow invoking them.

A foundation-model id (`anthropic.claude-3-haiku-20240307-v1:0`) is granted by its
foundation-model ARN in the environment's region. A cross-region inference profile id
(`us.anthropic.claude-3-5-haiku-20241022-v1:0`) needs the profile's ARN (account-scoped)
and the foundation-model ARN in every region the profile routes to, as AWS requires
(Bedrock user guide, "Prerequisites for inference profiles").

The routing table is data kept here; AWS's `GetInferenceProfile` would give the exact list
per model, but plumb cannot call it offline or against moto (not implemented there), and a
plan must be computable from the spec alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Geography prefix -> the source regions it may be called from and the regions it routes to.
PROFILE_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "eu": ("eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"),
    "apac": ("ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
    "ca": ("ca-central-1",),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
}
# A global profile routes to any commercial region: IAM takes a region-less model ARN.
GLOBAL_PREFIX = "global"

# provider.model-name[-version][:revision][:context], e.g. amazon.titan-embed-text-v2:0
_MODEL = r"[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9.-]*(?::\d+)?(?::\d+k)?"
_GEOS = "|".join(map(re.escape, [*PROFILE_REGIONS, GLOBAL_PREFIX]))
MODEL_ID = re.compile(rf"^{_MODEL}$")
PROFILE_ID = re.compile(rf"^(?P<geo>{_GEOS})\.(?P<model>{_MODEL})$")

ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model id: `geography` is "" for a plain foundation model."""

    model_id: str
    foundation_model: str
    geography: str = ""

    @property
    def is_profile(self) -> bool:
        return bool(self.geography)


def parse_model_id(model_id: str) -> ModelRef | None:
    """The parsed id, or None when it is neither a foundation model nor a profile id."""
    profile = PROFILE_ID.match(model_id)
    if profile:
        return ModelRef(model_id, profile["model"], profile["geo"])
    if MODEL_ID.match(model_id):
        return ModelRef(model_id, model_id)
    return None


def geography_problem(ref: ModelRef, region: str) -> str | None:
    """Why a profile cannot be called from `region`, or None when it can."""
    if not ref.is_profile or ref.geography == GLOBAL_PREFIX:
        return None
    if region not in PROFILE_REGIONS[ref.geography]:
        allowed = ", ".join(PROFILE_REGIONS[ref.geography])
        return (
            f"inference profile '{ref.model_id}' is for the {ref.geography} geography "
            f"({allowed}), not {region}"
        )
    return None


def model_arns(ref: ModelRef, region: str, partition: str = "aws") -> list[str]:
    """Foundation-model ARNs to grant; the profile ARN needs the account, see profile_arn_parts."""
    if not ref.is_profile:
        return [f"arn:{partition}:bedrock:{region}::foundation-model/{ref.foundation_model}"]
    if ref.geography == GLOBAL_PREFIX:
        return [f"arn:{partition}:bedrock:::foundation-model/{ref.foundation_model}"]
    return [
        f"arn:{partition}:bedrock:{r}::foundation-model/{ref.foundation_model}"
        for r in PROFILE_REGIONS[ref.geography]
    ]


def profile_arn_parts(ref: ModelRef, region: str, partition: str = "aws") -> tuple[str, str]:
    """(prefix, suffix) around the account id of the inference profile's ARN."""
    return (f"arn:{partition}:bedrock:{region}:", f":inference-profile/{ref.model_id}")
