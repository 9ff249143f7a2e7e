"""Integration fixtures: one moto server (requests serialised) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.moto_server import MotoServerHandle, start_moto_server

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServerHandle]:
    handle = start_moto_server()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def moto_endpoint(moto_server: MotoServerHandle) -> Iterator[str]:
    """The moto URL, with boto3's environment (endpoint, fake credentials, region) set for the session."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": moto_server.url}.items():
            patch.setenv(name, value)
        # A developer's own profile or per-service endpoint must not leak into the tests.
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB"):
            patch.delenv(name, raising=False)
        yield moto_server.url


@pytest.fixture
def moto_reset(moto_server: MotoServerHandle, moto_endpoint: str) -> Iterator[None]:
    """Every moto backend empty at the start of the test."""
    moto_server.reset()
    yield
