"""Files: find monograph inputs, assemble Bundles, write JSON/NDJSON atomically, write the manifest.

Output paths are built only from slugs (``ids.slug``), never from titles or input names, so nothing
can be written outside the output folder whatever a monograph says.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from .ids import full_url

JSON = dict[str, Any]
BundleType = Literal["transaction", "batch", "collection"]
MONOGRAPH_SUFFIXES = (".md", ".markdown", ".txt")


def discover(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """(file, display path) for every monograph under the given files and folders, sorted.

    The display path (used in provenance and source locations) is relative to the folder given, or
    the file name for a file given directly, so output does not depend on the working directory.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MONOGRAPH_SUFFIXES):
                relative = file.relative_to(path)
                if any(part.startswith(".") for part in relative.parts) or file.name.upper().startswith("README"):
                    continue  # hidden files and a folder's README are not monographs
                yield file, file.relative_to(path).as_posix()
        else:
            yield path, path.name


def rewrite_references(value: Any, urls: dict[str, str]) -> Any:
    """A copy of ``value`` with every ``reference`` found in ``urls`` replaced by its value."""
    if isinstance(value, dict):
        return {
            k: (urls.get(v, v) if k == "reference" and isinstance(v, str) else rewrite_references(v, urls))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [rewrite_references(v, urls) for v in value]
    return value


def bundle(resources: list[JSON], bundle_type: BundleType, timestamp: str) -> JSON:
    """A Bundle of the resources (DESIGN.md §4).

    Transaction and collection bundles point at each other through ``urn:uuid`` fullUrls. A batch's
    entries are processed independently, so its references stay ``Type/id``; every entry of a
    transaction or batch is a PUT to ``Type/id`` so that loading twice updates in place.
    """
    urls = {f"{r['resourceType']}/{r['id']}": full_url(r["resourceType"], r["id"]) for r in resources}
    entries = []
    for resource in resources:
        key = f"{resource['resourceType']}/{resource['id']}"
        entry: JSON = {
            "fullUrl": urls[key],
            "resource": resource if bundle_type == "batch" else rewrite_references(resource, urls),
        }
        if bundle_type != "collection":
            entry["request"] = {"method": "PUT", "url": key}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": bundle_type, "timestamp": timestamp, "entry": entries}


def dumps(value: Any) -> str:
    """The one JSON layout of every output file: stable key order as built, 2-space indent, UTF-8."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ndjson_lines(resources: Iterable[JSON]) -> dict[str, list[str]]:
    """Resource type -> NDJSON lines (one compact resource per line)."""
    out: dict[str, list[str]] = {}
    for resource in resources:
        out.setdefault(resource["resourceType"], []).append(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
    return out
