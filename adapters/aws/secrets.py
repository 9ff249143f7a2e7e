"""CredentialStore: vendor credentials in Secrets Manager at `concord/<stage>/credentials/<system>`.

Each secret is one JSON object (client id and secret, a private key for the JWT bearer flow, Stripe's
restricted key, ...), encrypted with concord's KMS key. Secrets Manager keeps versions under staging
labels: PutSecretValue moves AWSCURRENT to the new version and AWSPREVIOUS to the one it replaced.

    set(system, creds)     replace: the new version is current and the old one is no longer readable
    rotate(system, creds)  overlap: the new version is current and the old one stays readable as
                           `previous` for `overlap_s` (or until end_overlap), so instances that still
                           hold the old credentials keep working while the new ones propagate

No value is ever logged; log lines carry the secret name and version ids only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.aws.lease import AwsFailure, aws_error, error_code
from application.errors import NotFound, PermanentError

logger = logging.getLogger("concord.credentials")


def credentials_secret(stage: str, system: str) -> str:
    return f"concord/{stage}/credentials/{system}"


def encode_credentials(credentials: Mapping[str, Any]) -> str:
    if not isinstance(credentials, Mapping) or not credentials:
        raise PermanentError("credentials must be a non-empty JSON object", system="secretsmanager",
                             field="credentials")
    for key, value in credentials.items():
        if not isinstance(key, str) or not isinstance(value, str) or not value:
            raise PermanentError(f"credentials.{key}: must be a non-empty string", system="secretsmanager",
                                 field=f"credentials.{key}")
    return json.dumps(dict(credentials), sort_keys=True, separators=(",", ":"))


def decode_credentials(text: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise PermanentError("stored credentials are not JSON", system="secretsmanager",
                             field="credentials") from exc
    if not isinstance(document, dict):
        raise PermanentError("stored credentials are not a JSON object", system="secretsmanager",
                             field="credentials")
    return {str(key): str(value) for key, value in document.items()}


class CredentialStore:
    def __init__(self, secretsmanager_client: Any, stage: str, kms_key_id: str, *,
                 overlap_s: float = 24 * 3600,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sm = secretsmanager_client
        self._stage = stage
        self._kms_key_id = kms_key_id
        self._overlap = timedelta(seconds=overlap_s)
        self._now = now

    def set(self, system: str, credentials: Mapping[str, Any]) -> str:
        """Store credentials as the only readable version (create the secret if needed); the version id."""
        version = self._put(system, encode_credentials(credentials), create=True)
        self.end_overlap(system)
        return version

    def rotate(self, system: str, new_credentials: Mapping[str, Any]) -> str:
        """Make `new_credentials` current while the replaced version stays readable as `previous`."""
        return self._put(system, encode_credentials(new_credentials), create=False)

    def current(self, system: str) -> dict[str, str]:
        value = self._get(system, "AWSCURRENT")
        if value is None:
            raise NotFound(f"no credentials stored for {system}", system=system, code="NO_CREDENTIALS")
        return decode_credentials(value)

    def previous(self, system: str) -> dict[str, str] | None:
        """The replaced credentials while the rotation's overlap window lasts; None after it."""
        value = self._get(system, "AWSPREVIOUS")
        if value is None:
            return None
        # The window runs from the current version's creation, i.e. from the rotation.
        versions = self._versions(system)
        current = next((v for v in versions if "AWSCURRENT" in v.get("VersionStages", ())), None)
        created = current.get("CreatedDate") if current else None
        if isinstance(created, datetime) and self._now() - created > self._overlap:
            return None
        return decode_credentials(value)

    def end_overlap(self, system: str) -> None:
        """Close the window: the replaced version is no longer readable as `previous`."""
        for version in self._versions(system):
            if "AWSPREVIOUS" in version.get("VersionStages", ()):
                self._call("UpdateSecretVersionStage", self._sm.update_secret_version_stage,
                           SecretId=self._name(system), VersionStage="AWSPREVIOUS",
                           RemoveFromVersionId=version["VersionId"])
                logger.info("credentials overlap ended", extra={"system": system})

    # -- Secrets Manager calls ----------------------------------------------------------------
    def _name(self, system: str) -> str:
        return credentials_secret(self._stage, system)

    def _put(self, system: str, value: str, *, create: bool) -> str:
        name = self._name(system)
        try:
            response = self._sm.put_secret_value(SecretId=name, SecretString=value)
        except AwsFailure as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise aws_error(exc, system="secretsmanager", action=f"PutSecretValue {name}") from exc
            if not create:
                raise NotFound(f"no credentials to rotate for {system}: set them first", system=system,
                               code="NO_CREDENTIALS") from exc
            response = self._call("CreateSecret", self._sm.create_secret, Name=name, SecretString=value,
                                  KmsKeyId=self._kms_key_id,
                                  Description=f"concord {system} credentials (concord credentials set)")
        logger.info("credentials stored", extra={"system": system, "version_id": response.get("VersionId")})
        return str(response.get("VersionId", ""))

    def _get(self, system: str, stage_label: str) -> str | None:
        try:
            response = self._sm.get_secret_value(SecretId=self._name(system), VersionStage=stage_label)
        except AwsFailure as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise aws_error(exc, system="secretsmanager", action=f"GetSecretValue {stage_label}") from exc
        return str(response["SecretString"])

    def _versions(self, system: str) -> list[dict[str, Any]]:
        try:
            response = self._sm.list_secret_version_ids(SecretId=self._name(system))
        except AwsFailure as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []
            raise aws_error(exc, system="secretsmanager", action="ListSecretVersionIds") from exc
        return list(response.get("Versions", []))

    @staticmethod
    def _call(action: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except AwsFailure as exc:
            raise aws_error(exc, system="secretsmanager", action=action) from exc


class ApiKeyTokens:
    """A TokenProvider over a long-lived API key kept in Secrets Manager (Stripe's restricted key).

    The key is cached for `ttl_s`; after the vendor refuses it (`invalidate`), the store is read
    again at once, so a client holding a rolled key switches to the new one with a single retry.
    """

    def __init__(self, store: CredentialStore, *, field: str = "api_key", ttl_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store, self._field, self._ttl_s, self._clock = store, field, ttl_s, clock
        self._cached: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, system: str) -> str:
        with self._lock:
            cached = self._cached.get(system)
            if cached is not None and self._clock() - cached[1] < self._ttl_s:
                return cached[0]
        return self._read(system)

    def invalidate(self, system: str, rejected: str) -> str:
        return self._read(system)

    def _read(self, system: str) -> str:
        key = self._store.current(system)[self._field]
        with self._lock:
            self._cached[system] = (key, self._clock())
        return key
