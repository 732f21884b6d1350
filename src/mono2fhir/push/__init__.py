"""Load FHIR resources into a server: ``push(inputs, PushOptions(...)) -> PushReport``.

Pipeline (the module of each step in brackets)::

    inputs (monographs, Bundle JSON files, NDJSON files/folders, converted monographs)
      -> groups    [inputs]  one group per monograph: resources that reference each other stay together
      -> chunks    [inputs]  groups packed into bundles of about ``batch_size`` resources (never split)
      -> send      [send]    POST [base] transaction|batch of ``PUT Type/id`` entries, ``jobs`` in parallel
      -> classify  [send]    each response entry: created / updated / unchanged / failed (+ OperationOutcome)
      -> verify    [compare] optional read-back of every written resource, compared with what was sent

``dry_run`` replaces send/classify with a read of every resource and a plan (``compare.plan``). The
library never prints: progress goes to a callback, the result is a ``PushReport`` (``model``).
Transport and authentication failures raise ``ServerUnreachable`` / ``AuthenticationFailed`` (exit 3);
rejected entries are data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import requests

from .. import client
from ..client import ProgressCallback
from ..errors import ServerError
from .compare import compare, plan, verify
from .inputs import build_bundle, chunk_groups, groups_from_bundle, groups_from_resources, load_inputs
from .model import (Difference, EntryFailure, EntryResult, Group, Item, PlannedChange, PushOptions, PushReport,
                    PushUsageError)
from .parallel import run_parallel
from .send import Sender, Sent, classify_entry


def push(inputs: Iterable[Any], options: PushOptions, *, progress: ProgressCallback | None = None,
         session: requests.Session | None = None, terminology: Any = None) -> PushReport:
    """Push ``inputs`` to ``options.server`` and report what happened (see the module docstring)."""
    if session is None:
        with client.build_session(options.client.model_copy(update={"pool_size": max(10, options.jobs)})) as own:
            return push(inputs, options, progress=progress, session=own, terminology=terminology)
    started = time.monotonic()
    base = options.server.rstrip("/")
    fhir_version = _fhir_version(session, base, options)
    groups, input_failures = load_inputs(inputs, fhir_version, terminology)
    report = PushReport(server=client.redact_url(base), fhir_version=fhir_version, bundle_type=options.bundle_type,
                        dry_run=options.dry_run, total=sum(len(g.items) for g in groups),
                        failures=input_failures, failed=len(input_failures))
    ref_map = {it.full_url: it.key for g in groups for it in g.items}
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, report.total)

    if options.dry_run:
        plan(session, base, groups, ref_map, options.jobs, report, tick)
    else:
        written: list[tuple[Group, Item]] = []

        def on_chunk(sent: Sent) -> None:
            written.extend(_record(report, sent))
            tick(len(sent.results))

        sender = Sender(session, base, options.bundle_type)
        chunks = chunk_groups(groups, options.batch_size)
        run_parallel(options.jobs, [lambda c=c: sender.send_chunk(c) for c in chunks], on_chunk)
        if options.verify:
            verify(session, base, written, ref_map, options.jobs, report)
    report.elapsed_s = round(time.monotonic() - started, 3)
    return report


def _fhir_version(session: requests.Session, base: str, options: PushOptions) -> str:
    """The version asked for, else the server's, else R4; refuses a version the server does not speak."""
    server_version = client.server_fhir_version(client.capability(session, base))
    if options.fhir_version and server_version and options.fhir_version != server_version:
        raise PushUsageError(f"--fhir-version {options.fhir_version} but {client.redact_url(base)} is a "
                             f"FHIR {server_version} server; give --fhir-version {server_version} or another server")
    return options.fhir_version or server_version or "R4"


def _record(report: PushReport, sent: Sent) -> list[tuple[Group, Item]]:
    """Add one chunk's results to ``report``; returns the resources the server accepted."""
    report.bundles += sent.bundles
    report.retried_bundles += sent.retried
    report.recovered += sent.recovered
    accepted = []
    for r in sent.results:
        report.count(r.action)
        report.entries.append(EntryResult(monograph=r.group.label, resource=r.item.key, action=r.action,
                                          status=r.status))
        if r.action == "failed":
            report.failures.append(EntryFailure(monograph=r.group.label, resource=r.item.key, status=r.status,
                                                outcome=r.outcome or "rejected"))
        else:
            accepted.append((r.group, r.item))
    return accepted


__all__ = ["PushOptions", "PushReport", "EntryFailure", "EntryResult", "Difference", "PlannedChange", "PushUsageError",
           "push", "load_inputs", "chunk_groups", "build_bundle", "classify_entry", "compare", "ServerError",
           "Group", "Item", "groups_from_bundle", "groups_from_resources"]
