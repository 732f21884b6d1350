"""Load FHIR resources into a server: ``push(inputs, PushOptions(...)) -> PushReport``.

Pipeline::

    inputs (monographs, Bundle JSON files, NDJSON files/folders, converted monographs)
      -> groups      one group per monograph: resources that reference each other stay together
      -> chunks      groups packed into bundles of about ``batch_size`` resources (never split)
      -> send        POST [base] transaction|batch of ``PUT Type/id`` entries, ``jobs`` in parallel
      -> classify    each response entry: created / updated / unchanged / failed (+ OperationOutcome)
      -> verify      optional read-back of every written resource, compared with what was sent

``dry_run`` replaces send/classify with a read of every resource and a plan. The library never
prints: progress goes to a callback, the result is a ``PushReport``. Transport and authentication
failures raise ``ServerUnreachable`` / ``AuthenticationFailed`` (exit 3); rejected entries are data.

(This module is over the usual 300 lines because loading, sending and comparing share the small
reference-mapping helpers; split it when one of the parts grows.)
"""

from __future__ import annotations

import email.utils
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree
from pathlib import Path
from typing import Any, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field, computed_field

from . import client, ids
from .client import ClientOptions
from .errors import EXIT_OK, EXIT_SOME_FAILED, Mono2FhirError, MonographError, ServerError

MONOGRAPH_SUFFIXES = (".md", ".markdown", ".txt")
SKIP_JSON = {"manifest.json"}
# Reads for dry-run and verify must not be answered from a cache.
NO_CACHE = {"Cache-Control": "no-cache"}
# Outcome codes HAPI puts in transaction-response entries (storage response code system).
CREATED_CODES = {"SUCCESSFUL_CREATE", "SUCCESSFUL_UPDATE_AS_CREATE", "SUCCESSFUL_CREATE_NO_CONDITIONAL_MATCH"}
UPDATED_CODES = {"SUCCESSFUL_UPDATE", "SUCCESSFUL_PATCH", "SUCCESSFUL_CONDITIONAL_UPDATE"}
UNCHANGED_CODES = {"SUCCESSFUL_UPDATE_NO_CHANGE", "SUCCESSFUL_PATCH_NO_CHANGE", "SUCCESSFUL_CREATE_WITH_CONDITIONAL_MATCH"}

Action = Literal["created", "updated", "unchanged", "failed"]
Progress = Callable[[int, int], None]


class PushUsageError(Mono2FhirError):
    """The inputs or options cannot be pushed as given (exit 2)."""


# --------------------------------------------------------------------------- options and report


class PushOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    server: str
    fhir_version: Literal["R4", "R5"] | None = None  # None: the server's
    batch_size: int = Field(100, ge=1)  # resources per bundle; one monograph is never split
    bundle_type: Literal["transaction", "batch"] = "transaction"
    jobs: int = Field(4, ge=1)
    dry_run: bool = False
    verify: bool = False
    client: ClientOptions = Field(default_factory=ClientOptions)


class EntryFailure(BaseModel):
    monograph: str
    resource: str | None = None  # Type/id; None when the whole input failed
    status: int | None = None
    outcome: str


class EntryResult(BaseModel):
    monograph: str
    resource: str  # Type/id
    action: Action
    status: int | None = None


class Difference(BaseModel):
    monograph: str
    resource: str
    path: str  # FHIRPath-like: MedicationKnowledge.dosage[0].type
    sent: str | None = None
    stored: str | None = None


class PlannedChange(BaseModel):
    monograph: str
    resource: str
    action: Literal["create", "update", "unchanged"]
    paths: list[str] = []  # for "update": what differs


class PushReport(BaseModel):
    server: str
    fhir_version: str | None = None
    bundle_type: str = "transaction"
    dry_run: bool = False
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[EntryFailure] = []
    entries: list[EntryResult] = []  # one per resource sent, in completion order
    plan: list[PlannedChange] = []
    verified: int = 0
    differences: list[Difference] = []
    bundles: int = 0
    retried_bundles: int = 0  # bundles whose POST was retried (503, 429, dropped connection ...)
    recovered: int = 0  # entries a lost-but-applied attempt had written, counted as created/updated
    elapsed_s: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resources_per_second(self) -> float:
        return round(self.total / self.elapsed_s, 1) if self.elapsed_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.failures and not self.differences

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_SOME_FAILED


# --------------------------------------------------------------------------- inputs -> groups


@dataclass
class Item:
    type: str
    id: str
    body: dict  # as it will be sent (references to bundle members are urn:uuid)
    full_url: str

    @property
    def key(self) -> str:
        return f"{self.type}/{self.id}"


@dataclass
class Group:
    """The resources of one monograph. ``label`` names it in the report (the monograph's path)."""

    label: str
    items: list[Item] = field(default_factory=list)


def full_url_for(type_id: str) -> str:
    """DESIGN §4: ``urn:uuid:<uuid5 of "Type/id">``, as the exporter writes it."""
    resource_type, _, resource_id = type_id.partition("/")
    return ids.full_url(resource_type, resource_id)


def map_references(obj: Any, mapping: dict[str, str]) -> Any:
    """A copy of ``obj`` with every ``reference`` found in ``mapping`` replaced."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key == "reference" and isinstance(value, str) and value in mapping:
                out[key] = mapping[value]
            else:
                out[key] = map_references(value, mapping)
        return out
    if isinstance(obj, list):
        return [map_references(v, mapping) for v in obj]
    return obj


def iter_references(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from iter_references(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from iter_references(value)


def _components(items: list[Item]) -> list[list[Item]]:
    """Split items into sets linked by references (union-find), keeping input order."""
    index = {it.full_url: n for n, it in enumerate(items)} | {it.key: n for n, it in enumerate(items)}
    parent = list(range(len(items)))

    def find(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for n, it in enumerate(items):
        for ref in iter_references(it.body):
            if ref in index:
                parent[find(n)] = find(index[ref])
    comps: dict[int, list[Item]] = {}
    for n, it in enumerate(items):
        comps.setdefault(find(n), []).append(it)
    return list(comps.values())


def _label_for(path: str, comp: list[Item], several: bool) -> str:
    if not several:
        return path
    main = next((it for it in comp if it.type in ("MedicationKnowledge", "Medication")), comp[0])
    return f"{path}#{main.key}"


def groups_from_bundle(bundle: dict, label: str, split: bool = True) -> list[Group]:
    """Groups from a Bundle (any type). With ``split``, one group per reference-connected set."""
    if bundle.get("resourceType") != "Bundle":
        raise PushUsageError(f"{label}: not a FHIR Bundle (resourceType {bundle.get('resourceType')!r})")
    items = []
    for n, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not resource.get("id") or not resource.get("resourceType"):
            raise PushUsageError(f"{label}: entry {n} has no resource with a resourceType and an id "
                                 "(push sends PUT Type/id, so every resource needs an id)")
        key = f"{resource['resourceType']}/{resource['id']}"
        items.append(Item(resource["resourceType"], resource["id"], resource, entry.get("fullUrl") or full_url_for(key)))
    # A batch or NDJSON export refers to members as Type/id: point those at the members' fullUrls so
    # that every chunk is built the same way (build_bundle rewrites them back for a batch).
    to_placeholder = {it.key: it.full_url for it in items if it.full_url.startswith("urn:")}
    if any(ref in to_placeholder for it in items for ref in iter_references(it.body)):
        for it in items:
            it.body = map_references(it.body, to_placeholder)
    if not split:
        return [Group(label, items)] if items else []
    comps = _components(items)
    return [Group(_label_for(label, c, len(comps) > 1), c) for c in comps]


def groups_from_resources(resources: list[dict], label: str) -> list[Group]:
    """Groups from plain resources with ``Type/id`` references (NDJSON): the transaction entries of
    DESIGN §4 are rebuilt (urn:uuid fullUrls; references to members point at them)."""
    entries = [{"fullUrl": full_url_for(f"{r['resourceType']}/{r['id']}"), "resource": r} for r in resources]
    return groups_from_bundle({"resourceType": "Bundle", "entry": entries}, label)


def _read_ndjson(paths: list[Path]) -> list[dict]:
    resources = []
    for path in paths:
        for line_no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
            if not line.strip():
                continue
            try:
                resource = json.loads(line)
            except ValueError as exc:
                raise PushUsageError(f"{path}:{line_no}: not a JSON line ({exc.msg})") from exc
            if not isinstance(resource, dict) or not resource.get("id") or not resource.get("resourceType"):
                raise PushUsageError(f"{path}:{line_no}: not a FHIR resource with a resourceType and an id")
            resources.append(resource)
    return resources


def _bundle_of(conversion: Any) -> dict:
    """The transaction bundle of a converted monograph; refuses one with validation errors (the
    exporter refuses to write those too)."""
    errors = conversion.errors() if callable(getattr(conversion, "errors", None)) else []
    if errors:
        first = errors[0]
        raise PushUsageError(f"{len(errors)} validation error(s), not pushed; first: {first.rule} at {first.path}: "
                             f"{first.message} (see: mono2fhir validate)")
    bundle = conversion.bundle
    return bundle("transaction") if callable(bundle) else bundle


def _convert(path: Path, fhir_version: str, terminology: Any) -> dict:
    from .convert import convert_file  # imported late: the converter is optional for bundle inputs

    return _bundle_of(convert_file(path, fhir_version, terminology, display=str(path)))


def load_inputs(inputs: Iterable[Any], fhir_version: str, terminology: Any = None) -> tuple[list[Group], list[EntryFailure]]:
    """Read every input into groups. A monograph or file that cannot be read becomes an
    ``EntryFailure`` and the others are still loaded; a missing path raises ``PushUsageError``."""
    groups: list[Group] = []
    failures: list[EntryFailure] = []
    for source in inputs:
        if hasattr(source, "bundle"):  # a converted monograph (mono2fhir.convert.Conversion)
            try:
                groups += groups_from_bundle(_bundle_of(source), str(source.monograph.path), split=False)
            except PushUsageError as exc:
                failures.append(EntryFailure(monograph=str(source.monograph.path), outcome=str(exc)))
            continue
        path = Path(source)
        if not path.exists():
            raise PushUsageError(f"{path}: no such file or folder")
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        ndjson = [p for p in files if p.suffix == ".ndjson"]
        if ndjson:
            try:
                groups += groups_from_resources(_read_ndjson(ndjson), str(path))
            except (OSError, PushUsageError) as exc:
                failures.append(EntryFailure(monograph=str(path), outcome=str(exc)))
        for file in files:
            try:
                if file.suffix == ".json" and file.name not in SKIP_JSON:
                    groups += groups_from_bundle(json.loads(file.read_text(encoding="utf-8-sig")), str(file))
                elif file.suffix in MONOGRAPH_SUFFIXES:
                    if terminology is None:
                        from .terminology import Terminology

                        terminology = Terminology.load()
                    groups += groups_from_bundle(_convert(file, fhir_version, terminology), str(file), split=False)
            except (OSError, ValueError, MonographError, PushUsageError) as exc:
                failures.append(EntryFailure(monograph=str(file), outcome=str(exc)))
    seen: dict[str, str] = {}
    for group in groups:
        for item in group.items:
            if item.key in seen:
                raise PushUsageError(f"{item.key} is in both {seen[item.key]} and {group.label}: "
                                     "push each input once (or give the folder, not also its files)")
            seen[item.key] = group.label
    return groups, failures


def chunk_groups(groups: list[Group], batch_size: int) -> list[list[Group]]:
    """Pack groups in order into chunks of at most ``batch_size`` resources; a larger group travels
    alone (a monograph's resources reference each other and must share a transaction)."""
    chunks: list[list[Group]] = []
    current: list[Group] = []
    size = 0
    for group in groups:
        n = len(group.items)
        if current and size + n > batch_size:
            chunks.append(current)
            current, size = [], 0
        current.append(group)
        size += n
    if current:
        chunks.append(current)
    return chunks


def _dependency_order(items: list[Item]) -> list[Item]:
    """Referenced resources first (a batch applies entries one by one and HAPI rejects references to
    resources that do not exist yet); stable otherwise, and cycles are left in input order."""
    index = {it.full_url: it for it in items} | {it.key: it for it in items}
    done: set[str] = set()
    out: list[Item] = []

    def visit(it: Item, stack: set[str]) -> None:
        if it.key in done or it.key in stack:
            return
        stack.add(it.key)
        for ref in iter_references(it.body):
            if ref in index:
                visit(index[ref], stack)
        done.add(it.key)
        out.append(it)

    for it in items:
        visit(it, set())
    return out


def build_bundle(groups: list[Group], bundle_type: str) -> dict:
    """The request Bundle: ``PUT Type/id`` entries. In a batch, entries do not see each other's
    placeholders, so urn:uuid references are rewritten to ``Type/id``."""
    return _bundle_for([it for g in groups for it in _dependency_order(g.items)], bundle_type)


def _bundle_for(items: list[Item], bundle_type: str, members: Iterable[Item] = ()) -> dict:
    """``members``: every resource the items may refer to (a batch retry pass sends only some)."""
    to_literal = {it.full_url: it.key for it in [*items, *members]} if bundle_type == "batch" else {}
    entries = [{"fullUrl": it.full_url,
                "resource": map_references(it.body, to_literal) if to_literal else it.body,
                "request": {"method": "PUT", "url": it.key}} for it in items]
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}


# --------------------------------------------------------------------------- classify responses


def _outcome_codes(outcome: dict | None) -> set[str]:
    codes = set()
    for issue in (outcome or {}).get("issue", []):
        for coding in (issue.get("details") or {}).get("coding", []):
            if coding.get("code"):
                codes.add(coding["code"])
    return codes


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


# --------------------------------------------------------------------------- compare


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


def compare(sent: dict, stored: dict, ref_map: dict[str, str], base_url: str) -> list[tuple[str, Any, Any]]:
    """Differences between what was sent (urn:uuid references mapped to ``Type/id`` with
    ``ref_map``) and what the server stores, ignoring ``meta`` and server-added elements."""
    stored_refs = {r: _normalise_stored_reference(r, base_url) for r in iter_references(stored)}
    expected = _strip(map_references(sent, ref_map))
    actual = _strip(map_references(stored, stored_refs), sent)
    out: list[tuple[str, Any, Any]] = []
    _diff(expected, actual, sent.get("resourceType", "Resource"), out)
    return out


def _short(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


# --------------------------------------------------------------------------- the pusher


Result = tuple["Group", "Item", Action, int, "str | None"]  # group, item, action, HTTP status, outcome text


class _Pusher:
    def __init__(self, options: PushOptions, session: requests.Session, progress: Progress | None):
        self.options = options
        self.session = session
        self.base = options.server.rstrip("/")
        self.progress = progress

    # -- writing

    def send_chunk(self, groups: list[Group]) -> tuple[list[Result], dict]:
        """POST one chunk and classify every entry.

        A rejected transaction holding several monographs is sent again one monograph per bundle,
        so that one bad monograph does not fail the others. In a batch, entries are applied one by
        one, so a reference cycle (MedicationKnowledge <-> DetectedIssue) fails the entry that comes
        first; entries rejected with a 4xx are sent again as long as each pass gets more of them in.
        """
        pairs = [(g, it) for g in groups for it in _dependency_order(g.items)]
        results, stats = self._post(pairs)
        if self.options.bundle_type == "transaction":
            if len(groups) > 1 and results and all(r[2] == "failed" and 400 <= r[3] < 500 for r in results):
                results, stats["bundles"] = [], stats["bundles"] + len(groups)
                for group in groups:
                    part, part_stats = self._post([(group, it) for it in _dependency_order(group.items)])
                    results += part
                    for k in ("retried", "recovered"):
                        stats[k] += part_stats[k]
            return results, stats
        by_key = {r[1].key: r for r in results}
        pending = [r for r in results if r[2] == "failed" and 400 <= r[3] < 500]
        while pending:
            again, more = self._post([(r[0], r[1]) for r in pending])
            for k in stats:
                stats[k] += more[k]
            by_key.update({r[1].key: r for r in again})
            still = [r for r in again if r[2] == "failed" and 400 <= r[3] < 500]
            if len(still) == len(pending):
                break
            pending = still
        return [by_key[it.key] for _, it in pairs], stats

    def _post(self, pairs: list[tuple[Group, Item]]) -> tuple[list[Result], dict]:
        groups = list({id(g): g for g, _ in pairs}.values())
        bundle = _bundle_for([it for _, it in pairs], self.options.bundle_type, [it for g in groups for it in g.items])
        started = time.monotonic()
        # Retries resend the same X-Request-ID; HAPI records it in meta.source ("#<id>", 16 chars), which
        # tells us afterwards whether a lost attempt of this very request wrote a resource.
        request_id = uuid.uuid4().hex[:16]
        resp = client.send(self.session, "POST", self.base, data=json.dumps(bundle).encode("utf-8"),
                           headers={"X-Request-ID": request_id})
        stats = {"bundles": 1, "retried": int(_was_retried(resp)), "recovered": 0}
        if resp.status_code >= 400:
            error = client.error_for_status(resp.status_code, resp.url or self.base, resp.content)
            assert error is not None
            if isinstance(error, client.AuthenticationFailed):
                raise error
            text = error.outcome or str(error)
            return [(g, it, "failed", resp.status_code, text) for g, it in pairs], stats
        entries = resp.json().get("entry") or []
        if len(entries) != len(pairs):
            text = f"the server answered {len(entries)} entries for {len(pairs)} sent"
            return [(g, it, "failed", resp.status_code, text) for g, it in pairs], stats
        results: list[Result] = []
        for (group, item), entry in zip(pairs, entries):
            response = entry.get("response") or {}
            action, status = classify_entry(response)
            text = client.outcome_text(response.get("outcome")) if action == "failed" else None
            results.append((group, item, action, status, text or (f"HTTP {status}" if action == "failed" else None)))
        if _maybe_applied_earlier(resp):
            stats["recovered"] = self._recover(results, resp, request_id, started)
        return results, stats

    def _recover(self, results: list, resp: requests.Response, request_id: str, started: float) -> int:
        """A lost attempt may have written some resources; the retry then reports them "unchanged".
        Read those back: a version written by this request (meta.source ends with our X-Request-ID,
        or, on servers that do not record it, lastUpdated within this request's time span by the
        server's clock) counts as created (version 1) or updated."""
        server_now = _parse_http_date(resp.headers.get("Date"))
        window_start = server_now - timedelta(seconds=time.monotonic() - started + 1.0) if server_now else None
        recovered = 0
        for n, (group, item, action, status, text) in enumerate(results):
            if action != "unchanged":
                continue
            meta = (self.read(item.key) or {}).get("meta") or {}
            source = meta.get("source") or ""
            if "#" in source:
                ours = source.rsplit("#", 1)[1] == request_id
            else:
                modified = _parse_instant(meta.get("lastUpdated"))
                ours = bool(window_start and modified and modified >= window_start)
            if ours:
                results[n] = (group, item, "created" if meta.get("versionId") == "1" else "updated", status, text)
                recovered += 1
        return recovered

    # -- reading

    def read(self, key: str) -> dict | None:
        return client.read_resource(self.session, self.base, key)

    def ref_map(self, groups: list[Group]) -> dict[str, str]:
        return {it.full_url: it.key for g in groups for it in g.items}


def _run_parallel(jobs: int, tasks: Sequence[Callable[[], Any]], on_done: Callable[[Any], None]) -> None:
    """Run tasks on a thread pool; ``on_done`` gets each result as it completes (in this thread).
    The first exception cancels what has not started and is re-raised."""
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="mono2fhir-push") as pool:
        pending = {pool.submit(task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    on_done(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def push(inputs: Iterable[Any], options: PushOptions, *, progress: Progress | None = None,
         session: requests.Session | None = None, terminology: Any = None) -> PushReport:
    """Push ``inputs`` to ``options.server`` and report what happened (see the module docstring)."""
    if session is None:
        with client.build_session(options.client.model_copy(update={"pool_size": max(10, options.jobs)})) as own:
            return push(inputs, options, progress=progress, session=own, terminology=terminology)
    started = time.monotonic()
    pusher = _Pusher(options, session, progress)
    server_version = client.server_fhir_version(client.capability(session, pusher.base))
    fhir_version = options.fhir_version or server_version or "R4"
    if options.fhir_version and server_version and options.fhir_version != server_version:
        raise PushUsageError(f"--fhir-version {options.fhir_version} but {client.redact_url(pusher.base)} is a "
                             f"FHIR {server_version} server; give --fhir-version {server_version} or another server")
    groups, input_failures = load_inputs(inputs, fhir_version, terminology)
    report = PushReport(server=client.redact_url(pusher.base), fhir_version=fhir_version,
                        bundle_type=options.bundle_type, dry_run=options.dry_run)
    report.failures += input_failures
    report.failed += len(input_failures)
    total = sum(len(g.items) for g in groups)
    report.total = total
    ref_map = pusher.ref_map(groups)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    if options.dry_run:
        _plan(pusher, groups, ref_map, report, tick)
    else:
        written: list[tuple[Group, Item]] = []

        def on_chunk(result: tuple[list, dict]) -> None:
            results, stats = result
            report.bundles += stats["bundles"]
            report.retried_bundles += stats["retried"]
            report.recovered += stats["recovered"]
            for group, item, action, status, text in results:
                setattr(report, action, getattr(report, action) + 1)
                report.entries.append(EntryResult(monograph=group.label, resource=item.key, action=action,
                                                  status=status))
                if action == "failed":
                    report.failures.append(EntryFailure(monograph=group.label, resource=item.key, status=status,
                                                        outcome=text or "rejected"))
                else:
                    written.append((group, item))
            tick(len(results))

        chunks = chunk_groups(groups, options.batch_size)
        _run_parallel(options.jobs, [lambda c=c: pusher.send_chunk(c) for c in chunks], on_chunk)
        if options.verify:
            _verify(pusher, written, ref_map, report)
    report.elapsed_s = round(time.monotonic() - started, 3)
    return report


def _plan(pusher: _Pusher, groups: list[Group], ref_map: dict[str, str], report: PushReport,
          tick: Callable[[int], None]) -> None:
    def plan_one(group: Group, item: Item) -> PlannedChange:
        stored = pusher.read(item.key)
        if stored is None:
            return PlannedChange(monograph=group.label, resource=item.key, action="create")
        diffs = compare(item.body, stored, ref_map, pusher.base)
        return PlannedChange(monograph=group.label, resource=item.key, action="update" if diffs else "unchanged",
                             paths=[d[0] for d in diffs])

    counts = {"create": "created", "update": "updated", "unchanged": "unchanged"}

    def on_done(change: PlannedChange) -> None:
        report.plan.append(change)
        setattr(report, counts[change.action], getattr(report, counts[change.action]) + 1)
        tick(1)

    tasks = [lambda g=g, it=it: plan_one(g, it) for g in groups for it in g.items]
    _run_parallel(pusher.options.jobs, tasks, on_done)
    order = {it.key: n for n, it in enumerate(it for g in groups for it in g.items)}
    report.plan.sort(key=lambda c: order[c.resource])


def _verify(pusher: _Pusher, written: list[tuple[Group, Item]], ref_map: dict[str, str], report: PushReport) -> None:
    def check(group: Group, item: Item) -> list[Difference]:
        stored = pusher.read(item.key)
        if stored is None:
            return [Difference(monograph=group.label, resource=item.key, path=item.type, sent="(resource)",
                               stored=None)]
        return [Difference(monograph=group.label, resource=item.key, path=p, sent=_short(a), stored=_short(b))
                for p, a, b in compare(item.body, stored, ref_map, pusher.base)]

    def on_done(diffs: list[Difference]) -> None:
        report.verified += 1
        report.differences += diffs

    _run_parallel(pusher.options.jobs, [lambda g=g, it=it: check(g, it) for g, it in written], on_done)
    order = {it.key: n for n, (_, it) in enumerate(written)}
    report.differences.sort(key=lambda d: order.get(d.resource, 0))


__all__ = ["PushOptions", "PushReport", "EntryFailure", "EntryResult", "Difference", "PlannedChange", "PushUsageError",
           "push", "load_inputs", "chunk_groups", "build_bundle", "classify_entry", "compare", "ServerError"]
