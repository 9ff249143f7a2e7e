"""The token store (DESIGN §2.5): SSM SecureString `/concord/<stage>/tokens/<system>`, one JSON value each.

Readers (`SsmTokenProvider`) go through the Parameters and Secrets Lambda Extension with an in-process TTL
cache and fall back to boto3; after a 401 they bypass both caches and, if the stored token is the one
that was rejected, get ONE on-demand refresh across all instances under a DynamoDB lease. The access
manager writes through `SsmTokenWriter` (its only writer).
"""

from adapters.aws.token_store.codec import decode_token, encode_token, token_parameter
from adapters.aws.token_store.provider import SsmTokenProvider
from adapters.aws.token_store.reader import ParameterReader
from adapters.aws.token_store.refresh import InvokeAccessManager
from adapters.aws.token_store.writer import SsmTokenWriter

__all__ = ["InvokeAccessManager", "ParameterReader", "SsmTokenProvider", "SsmTokenWriter", "decode_token",
           "encode_token", "token_parameter"]
