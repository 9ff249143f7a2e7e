"""The chaos run is shared by the tests of the module: one run per billing vendor (Zuora, Stripe),
several properties checked on each.

CONCORD_CHAOS_CHANGES sizes each run (default 400: about 15 s each here, sized for CI on 2 cores under
load); benchmarks/chaos.py runs the full 2,000-change version of the issue.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tests.chaos.harness.run import Figures, chaos_run
from tests.chaos.harness.stack import ChaosConfig

CHANGES = int(os.environ.get("CONCORD_CHAOS_CHANGES", "400"))


@pytest.fixture(scope="module", params=["zuora", "stripe"])
def chaos(request: pytest.FixtureRequest) -> Iterator[Figures]:
    # Hundreds of retried and dead-lettered records log a line each, on purpose; the figures say it all.
    quiet = ("concord", "concord.sqs", "infrastructure.sandboxes.salesforce.events")
    levels = {name: logging.getLogger(name).level for name in quiet}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield chaos_run(CHANGES, ChaosConfig(vendor=request.param))
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
