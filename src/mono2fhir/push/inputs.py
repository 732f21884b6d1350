"""Inputs -> groups -> request bundles: read monographs (via ``mono2fhir.convert``), Bundle JSON and
NDJSON into one ``Group`` per monograph, pack groups into chunks and build each chunk's Bundle."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .. import ids
from ..errors import MonographError
from ..io import MONOGRAPH_SUFFIXES, rewrite_references
from .model import EntryFailure, Group, Item, PushUsageError

SKIP_JSON = {"manifest.json"}


def iter_references(obj: Any) -> Iterator[str]:
    """Every ``reference`` string in a resource (at any depth)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from iter_references(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from iter_references(value)


# --------------------------------------------------------------------------- inputs -> groups


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
                        from ..terminology import Terminology

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
        rtype, rid = resource["resourceType"], resource["id"]
        # DESIGN §4: without a fullUrl, the urn:uuid the exporter would write
        items.append(Item(rtype, rid, resource, entry.get("fullUrl") or ids.full_url(rtype, rid)))
    # A batch or NDJSON export refers to members as Type/id: point those at the members' fullUrls so
    # that every chunk is built the same way (build_bundle rewrites them back for a batch).
    to_placeholder = {it.key: it.full_url for it in items if it.full_url.startswith("urn:")}
    if any(ref in to_placeholder for it in items for ref in iter_references(it.body)):
        for it in items:
            it.body = rewrite_references(it.body, to_placeholder)
    if not split:
        return [Group(label, items)] if items else []
    comps = _components(items)
    return [Group(_label_for(label, c, len(comps) > 1), c) for c in comps]


def groups_from_resources(resources: list[dict], label: str) -> list[Group]:
    """Groups from plain resources with ``Type/id`` references (NDJSON): the transaction entries of
    DESIGN §4 are rebuilt (urn:uuid fullUrls; references to members point at them)."""
    return groups_from_bundle({"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}, label)


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
    from ..convert import convert_file  # imported late: the converter is optional for bundle inputs

    return _bundle_of(convert_file(path, fhir_version, terminology, display=str(path)))


# --------------------------------------------------------------------------- groups -> bundles


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


def dependency_order(items: list[Item]) -> list[Item]:
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
    return request_bundle([it for g in groups for it in dependency_order(g.items)], bundle_type)


def request_bundle(items: list[Item], bundle_type: str, members: Iterable[Item] = ()) -> dict:
    """``members``: every resource the items may refer to (a batch retry pass sends only some)."""
    to_literal = {it.full_url: it.key for it in [*items, *members]} if bundle_type == "batch" else {}
    entries = [{"fullUrl": it.full_url,
                "resource": rewrite_references(it.body, to_literal) if to_literal else it.body,
                "request": {"method": "PUT", "url": it.key}} for it in items]
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}


