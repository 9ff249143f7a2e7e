"""The demo's console: rich when it is installed, plain lines otherwise; the same content either way."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any


class Console:
    def __init__(self, plain: bool = False) -> None:
        self._lock = threading.Lock()
        self._rich: Any = None
        if not plain:
            try:
                from rich.console import Console as RichConsole

                self._rich = RichConsole(highlight=False, soft_wrap=True)
            except ImportError:
                self._rich = None

    def step(self, number: int, title: str) -> None:
        self._print(f"\n[bold cyan]({number}) {title}[/]", f"\n({number}) {title}")

    def hop(self, who: str, text: str) -> None:
        self._print(f"    [dim]{who:>10}[/] → {text}", f"    {who:>10} -> {text}")

    def ok(self, text: str) -> None:
        self._print(f"    [green]✔ {text}[/]", f"    OK {text}")

    def fail(self, text: str) -> None:
        self._print(f"    [red]✘ {text}[/]", f"    FAILED {text}")

    def info(self, text: str) -> None:
        self._print(text, text)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        with self._lock:
            if self._rich is not None:
                from rich.table import Table

                table = Table(title=title)
                for column in columns:
                    table.add_column(column, overflow="fold")
                for row in rows:
                    table.add_row(*row)
                self._rich.print(table)
                return
            print(f"\n{title}")
            widths = [
                max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)
            ]
            print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
            for row in rows:
                print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
            sys.stdout.flush()

    def _print(self, rich_text: str, plain_text: str) -> None:
        with self._lock:
            if self._rich is not None:
                self._rich.print(rich_text)
            else:
                print(plain_text, flush=True)
