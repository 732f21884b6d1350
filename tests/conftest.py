"""Shared fixtures: the repository paths, the shipped terminology, a CLI runner."""

from __future__ import annotations

import os
import pytest
from click.testing import CliRunner

from helpers import ROOT

from mono2fhir.cli import main
from mono2fhir.terminology import Terminology


@pytest.fixture(scope="session")
def terminology() -> Terminology:
    return Terminology.load()


@pytest.fixture
def run_cli(monkeypatch):
    """Run ``mono2fhir ARGS`` in-process from the repository root; returns click's Result
    (``exit_code``, ``stdout``, ``stderr`` kept apart)."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        monkeypatch.chdir(ROOT)
        return CliRunner().invoke(main, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch):
    # Output must not depend on the clock; monographs without lastModified use this epoch.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
