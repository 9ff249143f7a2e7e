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
@pytest.mark.timeout(300)
def test_concord_dev_serves_the_gateway_over_http_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    dev = subprocess.Popen(concord("dev", "--state-dir", str(tmp_path)), cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    description = tmp_path / "dev.json"
    try:
        deadline = time.monotonic() + 240
        while not description.exists() and dev.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert description.exists(), (
            dev.stdout.read() if dev.poll() is not None and dev.stdout else "no dev.json"
        )
        info = json.loads(description.read_text())
        assert {"gateway", "websocket", "moto", "sandboxes", "queues"} <= set(info)
        assert set(info["sandboxes"]) == {"salesforce", "zuora", "stripe"}
        assert httpx.get(f"{info['gateway']}/health", timeout=60).json() == {"status": "ok"}
        assert httpx.get(f"{info['gateway']}/openapi.json", timeout=60).json()["openapi"].startswith("3.1")
        assert httpx.post(
            f"{info['gateway']}/events", json={}, headers={"x-api-key": "wrong"}, timeout=60
        ).status_code in (401, 403)
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(60)
    assert dev.returncode == 0
    assert not description.exists()
