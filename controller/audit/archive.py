"""The chain head, kept outside the state database after every sealed run, so that whoever
can write the database cannot cut runs off the end, restore an older copy, or rewrite and
recompute the chain unseen: `plumb audit verify` compares the chain with these lines.

One JSON line per sealed run: `{"run", "seq", "hash", "seal", "at"}`, appended to a file
(`--audit-anchor`), and with `--archive-bucket` written, beside the run's JSON report, to an
S3 bucket under Object Lock in compliance mode: not even the bucket's owner can delete or
shorten it before the retention date. The objects are `chain/<seq>.json` (the anchor line)
and `runs/run-<id>.json` (the report). One anchor file or bucket prefix per state database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from controller.config import Settings
from controller.errors import PlumbError

CHAIN_PREFIX = "chain/"
FIELDS = ("run", "seq", "hash", "seal", "at")


class AnchorError(PlumbError):
    """The head could not be kept outside the database (the run itself is sealed)."""


def line_of(run: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    when = (at or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "run": run["id"],
        "seq": run["seq"],
        "hash": run["hash"],
        "seal": run.get("seal") or "sha256",
        "at": when,
    }


def append(path: Path, line: dict[str, Any]) -> None:
    """One line, appended and flushed to disk before the run is reported as anchored."""
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
    except OSError as err:
        raise AnchorError(f"cannot append to the anchor file {path}: {err.strerror}") from None


def read_file(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The anchor lines of a file and, for lines that are not anchors, what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise AnchorError(f"cannot read the anchor file {path}: {err.strerror}") from None
    return parse(enumerate(text.splitlines(), 1), str(path))


def parse(lines: Iterable[tuple[Any, str]], where: str) -> tuple[list[dict[str, Any]], list[str]]:
    found, bad = [], []
    for place, text in lines:
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            ok = isinstance(line, dict) and all(k in line for k in FIELDS)
            ok = ok and isinstance(line["seq"], int) and isinstance(line["run"], int)
        except ValueError:
            ok = False
        if ok:
            found.append(line)
        else:
            bad.append(f"{where} {place}: not an anchor line; it was edited or is not plumb's")
    return found, bad


class Archive:
    """The S3 bucket that keeps reports and anchor lines under compliance-mode Object Lock."""

    def __init__(self, client: Any, bucket: str, retain_days: int = 2555) -> None:
        self.client, self.bucket, self.retain_days = client, bucket, retain_days
        self._checked = False

    def check_lock(self) -> None:
        """Object Lock must be on: without it an archived line could be deleted later."""
        if self._checked:
            return
        try:
            found = self.client.get_object_lock_configuration(Bucket=self.bucket)
            enabled = found.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code != "ObjectLockConfigurationNotFoundError":
                raise AnchorError(_s3_failure(self.bucket, err)) from None
            enabled = None
        except BotoCoreError as err:
            raise AnchorError(_s3_failure(self.bucket, err)) from None
        if enabled != "Enabled":
            raise AnchorError(
                f"bucket {self.bucket} has no Object Lock, so what plumb archives there could "
                "be deleted: archive to a bucket made with Object Lock enabled "
                "(aws s3api create-bucket --object-lock-enabled-for-bucket)"
            )
        self._checked = True

    def put(self, line: dict[str, Any], report_json: str) -> None:
        self.check_lock()
        until = datetime.now(UTC) + timedelta(days=self.retain_days)
        for key, body in (
            (f"runs/run-{line['run']:06d}.json", report_json),
            (f"{CHAIN_PREFIX}{line['seq']:010d}.json", json.dumps(line, sort_keys=True)),
        ):
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body.encode("utf-8"),
                    ContentType="application/json",
                    ObjectLockMode="COMPLIANCE",
                    ObjectLockRetainUntilDate=until,
                )
            except (ClientError, BotoCoreError) as err:
                raise AnchorError(_s3_failure(self.bucket, err)) from None

    def read(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Every archived anchor line, each from the oldest (first locked) version of its
        object; a key written again is itself a finding."""
        versions: dict[str, list[dict[str, Any]]] = {}
        try:
            pages = self.client.get_paginator("list_object_versions")
            for page in pages.paginate(Bucket=self.bucket, Prefix=CHAIN_PREFIX):
                for version in page.get("Versions", []):
                    versions.setdefault(version["Key"], []).append(version)
            lines, problems = [], []
            for key, found in sorted(versions.items()):
                # Listed newest first: on a tie of seconds the one listed last is older.
                oldest = min(reversed(found), key=lambda v: v["LastModified"])
                if len(found) > 1:
                    problems.append(
                        f"s3://{self.bucket}/{key} was written {len(found)} times; "
                        "the first, locked version is the one checked"
                    )
                body = self.client.get_object(
                    Bucket=self.bucket, Key=key, VersionId=oldest["VersionId"]
                )["Body"].read()
                lines.append((key, body.decode("utf-8", "replace")))
        except (ClientError, BotoCoreError) as err:
            raise AnchorError(_s3_failure(self.bucket, err)) from None
        found_lines, bad = parse(lines, f"s3://{self.bucket}/")
        return found_lines, problems + bad


def archive_for(settings: Settings) -> Archive | None:
    if not settings.archive_bucket:
        return None
    from controller.aws.clients import ClientFactory

    client = ClientFactory(max_attempts=settings.max_attempts).client("s3", settings.region)
    return Archive(client, settings.archive_bucket, settings.archive_retain_days)


def _s3_failure(bucket: str, err: Exception) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        why = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    else:
        why = str(err)
    return f"cannot use the archive bucket {bucket}: {why}"


class Anchoring:
    """What a runner does after each seal: the head to the file, the report and the head to
    the archive. A failure never unseals the run: it is returned for the run's output."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.audit_anchor
        self.settings = settings
        self._archive: Archive | None = None

    @property
    def enabled(self) -> bool:
        return self.path is not None or bool(self.settings.archive_bucket)

    def keep(self, run: dict[str, Any], report_json: str) -> list[str]:
        line, failures = line_of(run), []
        if self.path is not None:
            try:
                append(self.path, line)
            except AnchorError as err:
                failures.append(str(err))
        if self.settings.archive_bucket:
            try:
                self._archive = self._archive or archive_for(self.settings)
                if self._archive is not None:
                    self._archive.put(line, report_json)
            except AnchorError as err:
                failures.append(str(err))
        return failures
