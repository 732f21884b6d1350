"""Layered validation of FHIR resources and bundles (DESIGN §6), without a server.

    findings = validate(bundle_or_resources, "R4", terminology)

runs, on every resource (a Bundle's entries one by one, and the Bundle itself):

    structure  -> fhir.resources models of the version           (structure.py)
    bindings   -> required code bindings, reference target types   (bindings.py)
    invariants -> FHIRPath constraints of the definitions          (invariants.py)
    units      -> UCUM codes parse                                 (units.py)
    codes      -> codings known to mappings/ or core HL7           (codes.py)
    sanity     -> clinical coherence of doses and ranges           (sanity.py)

and returns ``Finding`` values (findings.py), each with the FHIRPath of the element and, for
mono2fhir output, the monograph ``path:line`` it came from. ``detect_version`` tells R4 from R5 by
content. The server's ``$validate`` is a separate, later layer (``LAYERS`` is the registry a CLI
``--server`` option would extend).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .bindings import check_bindings
from .codes import check_codes
from .definitions import FHIR_VERSIONS, Node, walk
from .findings import Finding, counts, render_text, to_operation_outcome, to_outcome_bundle
from .invariants import check_invariants
from .sanity import check_sanity
from .structure import check_structure
from .units import check_units

__all__ = [
    "FHIR_VERSIONS",
    "Finding",
    "LAYERS",
    "counts",
    "detect_version",
    "has_errors",
    "render_text",
    "to_operation_outcome",
    "to_outcome_bundle",
    "validate",
    "validate_resource",
]


class _Context:
    """What the layers of one resource share: the walked nodes, the version, the Bundle's
    fullUrl -> resource type map and the codings the terminology knows."""

    def __init__(self, resource: dict, version: str, resolve: dict[str, str], known_codings):
        self.resource = resource
        self.version = version
        self.resolve = resolve
        self.known_codings = known_codings
        self.rtype = resource.get("resourceType", "Resource")
        self.rid = resource.get("id") if isinstance(resource.get("id"), str) else None
        self._nodes: list[Node] | None = None

    @property
    def nodes(self) -> list[Node]:
        if self._nodes is None:
            self._nodes = list(walk(self.resource, self.version))
        return self._nodes


# name -> layer; run in this order. A later --server layer ($validate on HAPI) registers here.
LAYERS: dict[str, Callable[[_Context], list[Finding]]] = {
    "structure": lambda c: check_structure(c.resource, c.version),
    "bindings": lambda c: check_bindings(c.nodes, c.version, c.rtype, c.rid, c.resolve),
    "invariants": lambda c: check_invariants(c.nodes, c.version, c.rtype, c.rid),
    "units": lambda c: check_units(c.nodes, c.rtype, c.rid),
    "codes": lambda c: check_codes(c.nodes, c.version, c.rtype, c.rid, c.known_codings),
    "sanity": lambda c: check_sanity(c.nodes, c.rtype, c.rid),
}

# Elements only R5 has (or whose R4 shape differs), as JSON keys per resource type.
_R5_MARKERS: dict[str, tuple[str, ...]] = {
    "MedicationKnowledge": ("definitional", "indicationGuideline", "clinicalUseIssue", "name", "storageGuideline",
                            "medicineClassification.classification.concept", "cost.costMoney", "regulatory.regulatoryAuthority"),
    "DocumentReference": ("content.profile", "attester", "version", "modality", "basedOn", "bodySite", "event.concept"),
    "Provenance": ("authorization", "patient", "basedOn", "entity.agent.who"),
    "DetectedIssue": ("subject", "category"),
    "Bundle": ("issues",),
}
_R4_MARKERS: dict[str, tuple[str, ...]] = {
    "MedicationKnowledge": ("administrationGuidelines", "synonym", "intendedRoute", "contraindication", "doseForm", "amount"),
    "DocumentReference": ("content.format", "masterIdentifier", "context"),
    "Provenance": ("reason",),  # R4 CodeableConcept reason vs R5 authorization
    "DetectedIssue": ("patient",),
}
_R5_ONLY_TYPES = frozenset({"ClinicalUseDefinition", "MedicinalProductDefinition", "Citation", "Evidence",
                            "AdministrableProductDefinition", "ManufacturedItemDefinition", "PackagedProductDefinition",
                            "RegulatedAuthorization", "SubscriptionStatus", "SubscriptionTopic"})


def _has(resource: Any, dotted: str) -> bool:
    values = [resource]
    for key in dotted.split("."):
        nxt = []
        for v in values:
            items = v if isinstance(v, list) else [v]
            nxt.extend(item[key] for item in items if isinstance(item, dict) and key in item)
        if not nxt:
            return False
        values = nxt
    return True


def detect_version(data: dict | list) -> str:
    """"R4" or "R5" from content: R5-only resource types or elements vote R5, R4-only elements
    vote R4; the majority wins and R4 is the default."""
    r4 = r5 = 0
    for resource in iter_resources(data):
        rtype = resource.get("resourceType")
        if rtype in _R5_ONLY_TYPES:
            r5 += 2
        r5 += sum(_has(resource, m) for m in _R5_MARKERS.get(rtype, ()))
        r4 += sum(_has(resource, m) for m in _R4_MARKERS.get(rtype, ()))
    return "R5" if r5 > r4 else "R4"


def iter_resources(data: dict | list) -> Iterable[dict]:
    """The resources of a Bundle (with the Bundle first) or a list of resources."""
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        yield item
        if item.get("resourceType") == "Bundle":
            for entry in item.get("entry") or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield from iter_resources(entry["resource"])


def _fullurl_map(data: dict | list) -> dict[str, str]:
    resolve: dict[str, str] = {}
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict) and item.get("resourceType") == "Bundle":
            for entry in item.get("entry") or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict) and isinstance(entry.get("fullUrl"), str):
                    resolve[entry["fullUrl"]] = entry["resource"].get("resourceType", "")
    return resolve


def _codings_of(terminology: Any) -> frozenset | set:
    if terminology is None:
        return frozenset()
    if isinstance(terminology, (set, frozenset)):
        return terminology
    return terminology.known_codings


def validate_resource(resource: dict, fhir_version: str, terminology: Any = None,
                      resolve: dict[str, str] | None = None, layers: Iterable[str] | None = None) -> list[Finding]:
    """All layers (or the named ones) on one resource; a Bundle's entries are not entered."""
    if not isinstance(resource, dict):
        return [Finding(severity="error", resource_type="Resource", path="Resource", rule="structure",
                        message=f"expected a JSON object, got {type(resource).__name__}")]
    context = _Context(resource, fhir_version, resolve or {}, _codings_of(terminology))
    findings: list[Finding] = []
    for name in layers or LAYERS:
        findings.extend(LAYERS[name](context))
    return findings


def validate(resources: dict | list, fhir_version: str | None = None, terminology: Any = None,
             layers: Iterable[str] | None = None) -> list[Finding]:
    """Validate a Bundle dict, a single resource, or a list of either. ``fhir_version`` None means
    ``detect_version``. ``terminology`` is a ``Terminology`` (its ``known_codings``), a set of
    (system, code), or None (then only HL7 codes are known)."""
    version = fhir_version or detect_version(resources)
    if version not in FHIR_VERSIONS:
        raise ValueError(f"unknown FHIR version {version!r}; expected one of {', '.join(FHIR_VERSIONS)}")
    resolve = _fullurl_map(resources)
    layer_names = list(layers) if layers is not None else None
    findings: list[Finding] = []
    for resource in iter_resources(resources):
        findings.extend(validate_resource(resource, version, terminology, resolve, layer_names))
    return findings


def has_errors(findings: Iterable[Finding], fail_on: str = "error") -> bool:
    return any(f.at_least(fail_on) for f in findings)
