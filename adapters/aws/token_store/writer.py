"""SsmTokenWriter: the access manager's TokenWriter (application/access.py) over SSM Parameter Store.

Tokens are SecureStrings encrypted with concord's KMS key (CloudFormation cannot declare a SecureString,
so the first write creates the parameter). `current` is a direct, decrypted read: the access manager
decides on the value SSM holds now, never on a cached one.
"""

from __future__ import annotations

from typing import Any

from adapters.aws.lease import AwsFailure, aws_error
from adapters.aws.token_store.codec import decode_token, encode_token, parameter_tier, token_parameter
from adapters.aws.token_store.reader import ParameterReader
from adapters.logging import register_secret
from application.access import StoredToken
from application.errors import PermanentError
from domain.errors import ValidationError


class SsmTokenWriter:
    def __init__(self, ssm_client: Any, stage: str, kms_key_id: str) -> None:
        self._ssm = ssm_client
        self._stage = stage
        self._kms_key_id = kms_key_id
        self._reader = ParameterReader(ssm_client)

    def current(self, system: str) -> StoredToken | None:
        value = self._reader.direct(token_parameter(self._stage, system))
        if value is None:
            return None
        try:
            return decode_token(value)
        except ValidationError:
            return None  # unreadable counts as absent: the caller writes a fresh one

    def write(self, system: str, token: StoredToken) -> None:
        try:
            value = encode_token(token)
            tier = parameter_tier(value)
        except ValidationError as exc:
            raise PermanentError(f"{system} token cannot be stored: {exc}", system=system,
                                 code="INVALID_TOKEN", field=exc.field) from exc
        register_secret(token.access_token)
        name = token_parameter(self._stage, system)
        try:
            self._ssm.put_parameter(Name=name, Value=value, Type="SecureString", KeyId=self._kms_key_id,
                                    Overwrite=True, Tier=tier,
                                    Description=f"concord {system} access token (access manager)")
        except AwsFailure as exc:
            raise aws_error(exc, system="ssm", action=f"PutParameter {name}") from exc
