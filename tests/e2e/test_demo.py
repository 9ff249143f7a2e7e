"""`concord demo` end to end for both billing vendors, and `concord dev` through its public edges.

Each runs the real CLI in its own process (as a user would), on its own local stack.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def concord(*args: str) -> list[str]:
    return [sys.executable, "-m", "entrypoints.cli", *args]


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.parametrize("vendor", ["zuora", "stripe"])
def test_the_demo_passes_every_step(vendor: str, tmp_path: Path) -> None:
    run = subprocess.run(concord("demo", "--vendor", vendor, "--plain", "--state-dir", str(tmp_path)),
                         cwd=ROOT, capture_output=True, text=True, timeout=400)
    transcript = run.stdout + run.stderr
    assert run.returncode == 0, transcript[-4000:]
    assert f"concord demo ({vendor}): 9 of 9 steps passed" in transcript
    assert "FAILED" not in transcript
    assert "(signature verified)" in transcript and "a forged token is refused with HTTP 401" in transcript


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_concord_dev_serves_the_gateway_and_an_attached_demo_then_stops_on_ctrl_c(tmp_path: Path) -> None:
    log = (tmp_path / "dev.out").open("w")
    dev = subprocess.Popen(concord("dev", "--state-dir", str(tmp_path)), cwd=ROOT, stdout=log,
                           stderr=subprocess.STDOUT, text=True)
    description = tmp_path / "dev.json"
    try:
        deadline = time.monotonic() + 240
        while not description.exists() and dev.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert description.exists(), (tmp_path / "dev.out").read_text()
        info = json.loads(description.read_text())
        assert {"gateway", "websocket", "moto", "sandboxes", "queues"} <= set(info)
        assert set(info["sandboxes"]) == {"salesforce", "zuora", "stripe"}
        gateway = info["gateway"]
        assert httpx.get(f"{gateway}/health", timeout=60).json() == {"status": "ok"}
        assert httpx.get(f"{gateway}/openapi.json", timeout=60).json()["openapi"].startswith("3.1")
        wrong_key = httpx.post(f"{gateway}/events", json={}, headers={"x-api-key": "wrong"}, timeout=60)
        assert wrong_key.status_code in (401, 403)
        attached = subprocess.run(concord("demo", "--attach", "--plain", "--state-dir", str(tmp_path)),
                                  cwd=ROOT, capture_output=True, text=True, timeout=400)
        assert attached.returncode == 0, (attached.stdout + attached.stderr)[-4000:]
        assert "concord demo (zuora): 9 of 9 steps passed" in attached.stdout
        assert "starting the local stack" not in attached.stdout  # it used the running one
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(60)
        log.close()
    assert dev.returncode == 0
    assert not description.exists()
