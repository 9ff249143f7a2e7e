"""Test-side name of the serialised moto server; it lives with the local stack that also runs it."""

from infrastructure.local.moto_server import MotoServerHandle, start_moto_server

__all__ = ["MotoServerHandle", "start_moto_server"]
