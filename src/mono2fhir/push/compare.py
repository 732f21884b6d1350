"""Compare what was sent with what the server stores: the dry-run plan (read before writing) and
the verify read-back (read after writing)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import requests

from .. import client
from ..io import rewrite_references
from .inputs import iter_references
from .model import Difference, Group, Item, PlannedChange, PushReport
from .parallel import run_parallel

PLANNED_AS = {"create": "created", "update": "updated", "unchanged": "unchanged"}


def plan(session: requests.Session, base: str, groups: list[Group], ref_map: dict[str, str], jobs: int,
         report: PushReport, tick: Callable[[int], None]) -> None:
    """Dry run: read every resource and add to ``report`` whether pushing would create, update (and
    where) or leave it unchanged."""
    def plan_one(group: Group, item: Item) -> PlannedChange:
        stored = client.read_resource(session, base, item.key)
        if stored is None:
            return PlannedChange(monograph=group.label, resource=item.key, action="create")
        diffs = compare(item.body, stored, ref_map, base)
        return PlannedChange(monograph=group.label, resource=item.key, action="update" if diffs else "unchanged",
                             paths=[d[0] for d in diffs])

    def on_done(change: PlannedChange) -> None:
        report.plan.append(change)
        report.count(PLANNED_AS[change.action])
        tick(1)

    pairs = [(g, it) for g in groups for it in g.items]
    run_parallel(jobs, [lambda g=g, it=it: plan_one(g, it) for g, it in pairs], on_done)
    order = {it.key: n for n, (_, it) in enumerate(pairs)}
    report.plan.sort(key=lambda c: order[c.resource])


def verify(session: requests.Session, base: str, written: list[tuple[Group, Item]], ref_map: dict[str, str],
           jobs: int, report: PushReport) -> None:
    """Read every written resource back and add what differs from what was sent to ``report``."""
    def check(group: Group, item: Item) -> list[Difference]:
        stored = client.read_resource(session, base, item.key)
        if stored is None:
            return [Difference(monograph=group.label, resource=item.key, path=item.type, sent="(resource)",
                               stored=None)]
        return [Difference(monograph=group.label, resource=item.key, path=p, sent=_short(a), stored=_short(b))
                for p, a, b in compare(item.body, stored, ref_map, base)]

    def on_done(diffs: list[Difference]) -> None:
        report.verified += 1
        report.differences += diffs

    run_parallel(jobs, [lambda g=g, it=it: check(g, it) for g, it in written], on_done)
    order = {it.key: n for n, (_, it) in enumerate(written)}
    report.differences.sort(key=lambda d: order.get(d.resource, 0))


# --------------------------------------------------------------------------- compare


def compare(sent: dict, stored: dict, ref_map: dict[str, str], base_url: str) -> list[tuple[str, Any, Any]]:
    """Differences between what was sent (urn:uuid references mapped to ``Type/id`` with
    ``ref_map``) and what the server stores, ignoring ``meta`` and server-added elements."""
    stored_refs = {r: _normalise_stored_reference(r, base_url) for r in iter_references(stored)}
    expected = _strip(rewrite_references(sent, ref_map))
    actual = _strip(rewrite_references(stored, stored_refs), sent)
    out: list[tuple[str, Any, Any]] = []
    _diff(expected, actual, sent.get("resourceType", "Resource"), out)
    return out


def _normalise_stored_reference(ref: str, base_url: str) -> str:
    if ref.startswith(base_url.rstrip("/") + "/"):
        ref = ref[len(base_url.rstrip("/")) + 1:]
    return ref.split("/_history/", 1)[0]


def _strip(resource: dict, sent: dict | None = None) -> dict:
    """Drop what the server owns: ``meta``, and ``text`` when we sent none (generated narrative)."""
    out = {k: v for k, v in resource.items() if k != "meta"}
    if sent is not None and "text" not in sent:
        out.pop("text", None)
    return out


def _diff(sent: Any, stored: Any, path: str, out: list[tuple[str, Any, Any]]) -> None:
    if isinstance(sent, dict) and isinstance(stored, dict):
        for key in list(sent) + [k for k in stored if k not in sent]:
            _diff(sent.get(key), stored.get(key), f"{path}.{key}", out)
    elif isinstance(sent, list) and isinstance(stored, list):
        for n in range(max(len(sent), len(stored))):
            _diff(sent[n] if n < len(sent) else None, stored[n] if n < len(stored) else None, f"{path}[{n}]", out)
    elif path.endswith(".div") and isinstance(sent, str) and isinstance(stored, str):
        if _xhtml(sent) != _xhtml(stored):
            out.append((path, sent, stored))
    elif _scalar(sent) != _scalar(stored):
        out.append((path, sent, stored))


def _xhtml(div: str) -> str:
    """Narrative compared as XML, not as text: servers re-serialise it (HAPI writes ``&#x27;`` as
    ``'``), which changes the characters but not the content."""
    try:
        return ElementTree.canonicalize(div)
    except ElementTree.ParseError:
        return div


def _scalar(value: Any) -> Any:
    # Compare numbers as decimals (1.50 == 1.5, and no float rounding): fidelity is about the value.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _short(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."
