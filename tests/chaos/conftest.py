"""The chaos run is shared by the tests of the module: one run, several properties checked on it.

CONCORD_CHAOS_CHANGES sizes it (default 600: about 20 s here, sized for CI on 2 cores under load);
benchmarks/chaos.py runs the full 2,000-change version of the issue.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tests.chaos.harness.run import Figures, chaos_run

CHANGES = int(os.environ.get("CONCORD_CHAOS_CHANGES", "600"))


@pytest.fixture(scope="module")
def chaos() -> Iterator[Figures]:
    # Hundreds of retried and dead-lettered records log a line each, on purpose; the figures say it all.
    quiet = ("concord", "concord.sqs", "infrastructure.sandboxes.salesforce.events")
    levels = {name: logging.getLogger(name).level for name in quiet}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield chaos_run(CHANGES)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
