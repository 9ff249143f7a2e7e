"""A one-line progress bar on stderr for people; nothing at all when stderr is not a terminal.

Hand-written (about 30 lines) rather than tqdm or rich: the CLI needs one bar with a count, a rate and
an ETA, and a dependency would be one more package in the image for that.
"""

from __future__ import annotations

from typing import IO

from application.backfill import Progress

WIDTH = 24


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render(progress: Progress) -> str:
    """`account [#######.....]  1,200/2,000  60%  310/s  ETA 0:03  API 1,234/100,000`"""
    if progress.total:
        share = min(1.0, progress.done / progress.total)
        filled = int(share * WIDTH)
        head = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {progress.done:,}/{progress.total:,} {share:4.0%}"
    else:
        head = f"{progress.done:,} records"
    line = f"{progress.entity} {head}  {progress.rate:,.0f}/s  ETA {_duration(progress.eta_s)}"
    if progress.failed:
        line += f"  failed {progress.failed:,}"
    if progress.usage is not None:
        line += f"  API {progress.usage.used:,}/{progress.usage.limit:,}"
    return line


class Bar:
    """Redraws one line in place; `close` ends it. Inactive (draws nothing) unless `stream` is a TTY."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.active = stream.isatty()
        self.drawn = False

    def __call__(self, progress: Progress) -> None:
        if self.active:
            self.stream.write("\r\x1b[2K" + render(progress))
            self.stream.flush()
            self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
