"""Inputs of ``mono2fhir validate``: FHIR JSON files (a resource, a Bundle or a JSON array), NDJSON
(one resource per line), monographs (``.md`` / ``.txt``, converted first) and folders of them.

A file that cannot be read or parsed is recorded as an ``input`` finding of that file, and the
other inputs are still validated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MonographError
from . import detect_version, iter_resources, validate
from .findings import Finding

FHIR_SUFFIXES = (".json", ".ndjson")
MONOGRAPH_SUFFIXES = (".md", ".txt")
SKIPPED_IN_FOLDERS = frozenset({"manifest.json"})  # export's run manifest (DESIGN §4), not FHIR


@dataclass
class InputResult:
    name: str
    findings: list[Finding] = field(default_factory=list)
    resources: int = 0
    fhir_version: str | None = None


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The files named, and the FHIR and monograph files under the folders named (sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in FHIR_SUFFIXES + MONOGRAPH_SUFFIXES and p.name not in SKIPPED_IN_FOLDERS
            )
        else:
            yield path


def _input_error(name: str, message: str) -> Finding:
    return Finding(severity="error", resource_type="Resource", path="Resource", rule="input", message=message, source=name)


def read_fhir(path: Path) -> Any:
    """A resource, Bundle or list from JSON; a list of resources from NDJSON."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:  # NDJSON under a .json name
            return [json.loads(line) for line in lines]
        raise


def convert_monograph(path: Path, fhir_version: str, terminology: Any) -> tuple[dict, list[Finding]]:
    """The Bundle of a monograph and its findings, through ``mono2fhir.convert.convert_file``, which
    has already run the local layers (so they are not run twice)."""
    from ..convert import convert_file

    conversion = convert_file(path, fhir_version, terminology)
    return conversion.bundle("transaction"), conversion.findings


ServerCheck = Callable[[Any, str], list[Finding]]


def validate_file(path: Path, fhir_version: str | None, terminology: Any, server: ServerCheck | None = None) -> InputResult:
    name = str(path)
    result = InputResult(name=name)
    findings: list[Finding] | None = None  # already known for a converted monograph
    try:
        if path.suffix.lower() in MONOGRAPH_SUFFIXES:
            data, findings = convert_monograph(path, fhir_version or "R4", terminology)
        else:
            data = read_fhir(path)
    except FileNotFoundError:
        result.findings.append(_input_error(name, "no such file"))
        return result
    except (OSError, UnicodeDecodeError) as exc:
        result.findings.append(_input_error(name, f"cannot read: {exc}"))
        return result
    except json.JSONDecodeError as exc:
        result.findings.append(_input_error(name, f"not JSON or NDJSON: line {exc.lineno}: {exc.msg}"))
        return result
    except MonographError as exc:
        result.findings.append(_input_error(name, f"monograph not converted: {exc}"))
        return result
    if isinstance(data, dict) and "resourceType" not in data:
        result.findings.append(_input_error(name, "not a FHIR resource (no resourceType)"))
        return result
    if not isinstance(data, (dict, list)):
        result.findings.append(_input_error(name, "expected a FHIR resource, a Bundle or a list of resources"))
        return result
    result.fhir_version = fhir_version or detect_version(data)
    result.resources = sum(1 for _ in iter_resources(data))
    result.findings.extend(findings if findings is not None else validate(data, result.fhir_version, terminology))
    if server is not None:
        result.findings.extend(server(data, result.fhir_version))
    return result


def validate_paths(paths: Iterable[str | Path], fhir_version: str | None, terminology: Any,
                   server: ServerCheck | None = None) -> list[InputResult]:
    """Every input through the local layers, and through ``server`` ($validate) when given."""
    return [validate_file(path, fhir_version, terminology, server) for path in iter_files(paths)]
