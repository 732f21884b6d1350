"""Helpers the command modules share: progress on a terminal, usage errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from ..errors import EXIT_USAGE


@contextmanager
def progress_reporter(label: str) -> Iterator[Callable[[Any], None]]:
    """A callback that advances a spinner-style counter on stderr when it is a terminal; silent
    otherwise (logs and CI stay clean)."""
    if not sys.stderr.isatty():
        yield lambda _item: None
        return
    count = 0

    def advance(_item: Any) -> None:
        nonlocal count
        count += 1
        click.echo(f"\r{label}: {count}", err=True, nl=False)

    try:
        yield advance
    finally:
        if count:
            click.echo("", err=True)


def fail_usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)
