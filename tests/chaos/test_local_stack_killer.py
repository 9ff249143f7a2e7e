"""The local-stack chaos run's worker killer, on its own: the sandbox's after_write hook sees every
applied write (not reads, not admin calls) before it answers, and the killer finds the calling process
from the request's socket and kills it there, so the caller never gets the answer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infrastructure.sandboxes.base import Request, Response, Sandbox, json_response
from tests.chaos.local_stack.killer import WorkerKiller, socket_inode, socket_owner

CALLER = """
import sys, httpx
with httpx.Client(base_url=sys.argv[1], timeout=30) as http:
    print(http.get("/v1/things").status_code, flush=True)
    print(http.post("/v1/things", json={}).status_code, flush=True)
    print("after the write", flush=True)
"""


class Things(Sandbox):
    name = "things"

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.route("GET", "/v1/things", lambda _: json_response(200, {"data": []}))
        self.route("POST", "/v1/things", self._create)

    def _create(self, request: Request) -> Response:
        self.written += 1
        return json_response(200, {"id": self.written})


@pytest.fixture
def things() -> Iterator[Things]:
    sandbox = Things()
    sandbox.start()
    yield sandbox
    sandbox.stop()


def test_after_write_sees_applied_writes_only_with_the_callers_address(things: Things) -> None:
    seen: list[tuple[str, str, int, Any]] = []
    things.after_write = lambda request, response: seen.append(
        (request.method, request.path, response.status, request.peer))
    with httpx.Client(base_url=things.url) as http:
        http.get("/v1/things")
        http.post("/v1/things", json={})
        http.post("/__sandbox/clock", json={"advance_seconds": 1})
        local_port = http.get("/v1/things").extensions["network_stream"].get_extra_info("client_addr")[1]
    assert [s[:3] for s in seen] == [("POST", "/v1/things", 200)]
    assert seen[0][3] == ("127.0.0.1", local_port)


def test_the_killer_kills_the_process_that_made_the_write_before_it_gets_the_answer(things: Things) -> None:
    caller = subprocess.Popen([sys.executable, "-c", CALLER, things.url], stdout=subprocess.PIPE, text=True)
    found: list[int | None] = []

    def kill_the_caller(request: Request, response: Response) -> None:
        assert request.peer is not None
        inode = socket_inode(request.peer[1], things.port)
        found.append(socket_owner(inode, [caller.pid]) if inode is not None else None)
        killer.busy[caller.pid] = ("ThingFunction", time.monotonic())
        killer.after_write(request, response)

    killer = WorkerKiller({}, vendor_port=things.port, rate=1.0, random_every_s=0, seed=1)
    killer.armed = True
    things.after_write = kill_the_caller
    output, _ = caller.communicate(timeout=60)
    assert found == [caller.pid]
    assert caller.returncode == -9  # SIGKILL
    assert output.split() == ["200"]  # the read was answered; the write's answer never arrived
    assert things.written == 1  # the vendor kept the write
    assert killer.figures()["by_hook_after_write"] == {"ThingFunction": 1}
