"""What a local function's process sees in os.environ: nothing of the parent's but PATH, then the
template's Environment, the local stand-ins, and Lambda's reserved variables (which win, as in AWS)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from infrastructure.provision.model import FunctionSpec

MEMORY_MB = 512  # the template's Globals MemorySize


@dataclass(frozen=True)
class LocalAws:
    """The AWS endpoint the functions talk to (moto), and the identity Lambda would give them."""

    endpoint_url: str
    region: str = "us-east-1"
    account_id: str = "123456789012"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # moto accepts any; never a real credential

    def client_environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region, "AWS_ACCESS_KEY_ID": self.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def function_environment(spec: FunctionSpec, aws: LocalAws, *, session_token: str,
                         local: Mapping[str, str]) -> dict[str, str]:
    """`local` holds the stand-ins for what AWS provides by URL: the extension port, the WebSocket
    management endpoint, and the on-demand token refresh mode (moto cannot invoke a Lambda)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": ":UTC",
           "PYTHONUNBUFFERED": "1"}
    if os.environ.get("TMPDIR"):
        env["TMPDIR"] = os.environ["TMPDIR"]
    env.update(spec.environment)
    env.update(local)
    env.update(aws.client_environment())
    env.update({
        "AWS_SESSION_TOKEN": session_token,  # also the extension's X-Aws-Parameters-Secrets-Token
        "AWS_LAMBDA_FUNCTION_NAME": spec.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB), "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}", "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": os.getcwd(), "CONCORD_LOCAL_ACCOUNT": aws.account_id,
    })
    return env
