"""Send one chunk of groups as a transaction or batch and classify every response entry; resend
rejected parts, and recover the writes of an attempt whose answer was lost."""

from __future__ import annotations

import email.utils
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests

from .. import client
from ..errors import AuthenticationFailed
from .inputs import dependency_order, request_bundle
from .model import Action, Group, Item, Result

# Outcome codes HAPI puts in transaction-response entries (storage response code system); any other
# success (SUCCESSFUL_UPDATE, SUCCESSFUL_PATCH ...) is an update.
CREATED_CODES = {"SUCCESSFUL_CREATE", "SUCCESSFUL_UPDATE_AS_CREATE", "SUCCESSFUL_CREATE_NO_CONDITIONAL_MATCH"}
UNCHANGED_CODES = {"SUCCESSFUL_UPDATE_NO_CHANGE", "SUCCESSFUL_PATCH_NO_CHANGE", "SUCCESSFUL_CREATE_WITH_CONDITIONAL_MATCH"}


@dataclass
class Sent:
    """The results of one chunk (one per item, in dependency order) and what it took to get them."""

    results: list[Result] = field(default_factory=list)
    bundles: int = 1  # POSTs made
    retried: int = 0  # POSTs urllib3 retried
    recovered: int = 0  # entries a lost-but-applied attempt had written

    def add_counts(self, other: Sent) -> None:
        self.bundles += other.bundles
        self.retried += other.retried
        self.recovered += other.recovered


class Sender:
    """Sends chunks to one server; ``send_chunk`` runs on several threads at once."""

    def __init__(self, session: requests.Session, base: str, bundle_type: str):
        self.session = session
        self.base = base
        self.bundle_type = bundle_type

    def send_chunk(self, groups: list[Group]) -> Sent:
        """POST one chunk and classify every entry.

        A rejected transaction holding several monographs is sent again one monograph per bundle,
        so that one bad monograph does not fail the others. In a batch, entries are applied one by
        one, so a reference cycle (MedicationKnowledge <-> DetectedIssue) fails the entry that comes
        first; entries rejected with a 4xx are sent again as long as each pass gets more of them in.
        """
        pairs = [(g, it) for g in groups for it in dependency_order(g.items)]
        sent = self._post(pairs)
        if self.bundle_type == "transaction":
            if len(groups) > 1 and sent.results and all(r.rejected for r in sent.results):
                parts = [self._post([(group, it) for it in dependency_order(group.items)]) for group in groups]
                sent.results = [r for part in parts for r in part.results]
                for part in parts:
                    sent.add_counts(part)
            return sent
        by_key = {r.item.key: r for r in sent.results}
        pending = [r for r in sent.results if r.rejected]
        while pending:
            again = self._post([(r.group, r.item) for r in pending])
            sent.add_counts(again)
            by_key.update({r.item.key: r for r in again.results})
            still = [r for r in again.results if r.rejected]
            if len(still) == len(pending):
                break
            pending = still
        sent.results = [by_key[it.key] for _, it in pairs]
        return sent

    def _post(self, pairs: list[tuple[Group, Item]]) -> Sent:
        groups = list({id(g): g for g, _ in pairs}.values())
        bundle = request_bundle([it for _, it in pairs], self.bundle_type, [it for g in groups for it in g.items])
        started = time.monotonic()
        # Retries resend the same X-Request-ID; HAPI records it in meta.source ("#<id>", 16 chars), which
        # tells us afterwards whether a lost attempt of this very request wrote a resource.
        request_id = uuid.uuid4().hex[:16]
        resp = client.send(self.session, "POST", self.base, data=json.dumps(bundle).encode("utf-8"),
                           headers={"X-Request-ID": request_id})
        sent = Sent(retried=int(_was_retried(resp)))
        if resp.status_code >= 400:
            error = client.error_for_status(resp.status_code, resp.url or self.base, resp.content)
            assert error is not None
            if isinstance(error, AuthenticationFailed):
                raise error
            sent.results = [Result(g, it, "failed", resp.status_code, error.outcome or str(error)) for g, it in pairs]
            return sent
        entries = resp.json().get("entry") or []
        if len(entries) != len(pairs):
            text = f"the server answered {len(entries)} entries for {len(pairs)} sent"
            sent.results = [Result(g, it, "failed", resp.status_code, text) for g, it in pairs]
            return sent
        for (group, item), entry in zip(pairs, entries, strict=True):
            response = entry.get("response") or {}
            action, status = classify_entry(response)
            outcome = (client.outcome_text(response.get("outcome")) or f"HTTP {status}") if action == "failed" else None
            sent.results.append(Result(group, item, action, status, outcome))
        if _maybe_applied_earlier(resp):
            sent.recovered = self._recover(sent.results, resp, request_id, started)
        return sent

    def _recover(self, results: list[Result], resp: requests.Response, request_id: str, started: float) -> int:
        """A lost attempt may have written some resources; the retry then reports them "unchanged".
        Read those back: a version written by this request (meta.source ends with our X-Request-ID,
        or, on servers that do not record it, lastUpdated within this request's time span by the
        server's clock) counts as created (version 1) or updated."""
        server_now = _parse_http_date(resp.headers.get("Date"))
        window_start = server_now - timedelta(seconds=time.monotonic() - started + 1.0) if server_now else None
        recovered = 0
        for n, result in enumerate(results):
            if result.action != "unchanged":
                continue
            meta = (client.read_resource(self.session, self.base, result.item.key) or {}).get("meta") or {}
            source = meta.get("source") or ""
            if "#" in source:
                ours = source.rsplit("#", 1)[1] == request_id
            else:
                modified = _parse_instant(meta.get("lastUpdated"))
                ours = bool(window_start and modified and modified >= window_start)
            if ours:
                results[n] = result._replace(action="created" if meta.get("versionId") == "1" else "updated")
                recovered += 1
        return recovered


# --------------------------------------------------------------------------- classify responses


def classify_entry(response: dict) -> tuple[Action, int]:
    """created / updated / unchanged / failed for one response entry, from the outcome code when the
    server gives one (HAPI does) and from the status (201 vs 200) otherwise."""
    status = int(str(response.get("status", "0")).split()[0] or 0)
    if status >= 400 or status == 0:
        return "failed", status
    codes = _outcome_codes(response.get("outcome"))
    if codes & UNCHANGED_CODES:
        return "unchanged", status
    if codes & CREATED_CODES or status == 201:
        return "created", status
    return "updated", status


def _outcome_codes(outcome: dict | None) -> set[str]:
    codes = set()
    for issue in (outcome or {}).get("issue", []):
        for coding in (issue.get("details") or {}).get("coding", []):
            if coding.get("code"):
                codes.add(coding["code"])
    return codes


def _maybe_applied_earlier(resp: requests.Response) -> bool:
    """True when urllib3 retried this request after an error that may have hit the server after it
    had applied the request (a dropped connection or read timeout, rather than a refused connect)."""
    retries = getattr(resp.raw, "retries", None)
    for attempt in getattr(retries, "history", ()) or ():
        if attempt.error is not None and attempt.status is None and "Connect" not in type(attempt.error).__name__:
            return True
    return False


def _was_retried(resp: requests.Response) -> bool:
    retries = getattr(resp.raw, "retries", None)
    return bool(getattr(retries, "history", ()))


def _parse_http_date(text: str | None) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError):
        return None


def _parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
