"""Bindings layer: required code bindings and Reference target types.

Both tables are derived, not typed in:
- which elements have a *required* binding, and to which value set, comes from the
  StructureDefinitions of the version (``definitions``);
- the codes of that value set come from the element's published code list: the fhir.resources
  model field's ``enum_values`` (generated from the same definitions), or else the code list in
  the element's ``short`` text ("< | <= | >= | > - how to understand the value"). A value set that
  neither enumerates (mimetypes, languages, event-timing) is not checked here.
- Reference targets are the ``targetProfile`` types of the element (``Resource`` = any).

A code list that the definitions publish as open ("registered | preliminary | final | amended +")
is completed from ``_OPEN_LIST_COMPLETION``, the one hand-kept table, keyed by the value set
canonical; without an entry such a list only yields warnings.
"""

from __future__ import annotations

import re
from functools import cache

from .definitions import ElementDef, Node, definitions
from .findings import Finding
from .structure import model_class

# Codes the published short lists leave out behind a "+", by value set (FHIR 4.0.1 ObservationStatus).
_OPEN_LIST_COMPLETION: dict[str, frozenset[str]] = {
    "http://hl7.org/fhir/ValueSet/observation-status|4.0.1": frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
    ),
}

_CODE_LIST = re.compile(r"^\s*([^\s|]+(?:\s*\|\s*[^\s|]+)+)\s*(\+)?\s*(?:-\s.*)?$")


def _short_code_list(short: str | None) -> tuple[list[str], bool] | None:
    if not short:
        return None
    m = _CODE_LIST.match(short)
    if not m:
        return None
    codes = [c.strip() for c in m.group(1).split("|")]
    return codes, bool(m.group(2))


@cache
def allowed_codes(version: str, element_path: str) -> tuple[frozenset[str], bool] | None:
    """(codes, complete) of the required binding of a ``code`` element, or None if not enumerable."""
    element = _element(version, element_path)
    if element is None or element.binding_strength != "required":
        return None
    codes: list[str] | None = None
    parts = element_path.split(".")
    cls = model_class("".join(p[:1].upper() + p[1:] for p in parts[:-1]), version)
    field = getattr(cls, "model_fields", {}).get(parts[-1]) if cls is not None else None
    if field is not None and isinstance(field.json_schema_extra, dict):
        codes = field.json_schema_extra.get("enum_values")
    is_open = False
    if codes:
        is_open = "+" in codes
        codes = [c for c in codes if c != "+"]
    else:
        parsed = _short_code_list(element.short)
        if parsed is None:
            return None
        codes, is_open = parsed
    if element.value_set in _OPEN_LIST_COMPLETION:
        return _OPEN_LIST_COMPLETION[element.value_set], True
    return frozenset(codes), not is_open


def _element(version: str, element_path: str) -> ElementDef | None:
    return definitions(version).elements(element_path.split(".", 1)[0]).get(element_path)


def required_code_bindings(version: str, type_names: tuple[str, ...]) -> dict[str, tuple[str | None, frozenset[str]]]:
    """{element path: (value set, codes)} for the enumerable required code bindings of some types:
    the derived table, also used by the codes layer."""
    table = {}
    for type_name in type_names:
        for path, element in definitions(version).elements(type_name).items():
            if element.types == ("code",):
                allowed = allowed_codes(version, path)
                if allowed is not None:
                    table[path] = (element.value_set, allowed[0])
    return table


def reference_type(reference: str, resolve: dict[str, str], contained: dict[str, str]) -> str | None:
    """Resource type a reference string points to, or None when it cannot be told."""
    if reference.startswith("#"):
        return contained.get(reference[1:])
    if reference in resolve:
        return resolve[reference]
    if reference.startswith(("urn:uuid:", "urn:oid:")):
        return None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2]
    return None


def check_bindings(nodes: list[Node], version: str, rtype: str, rid: str | None,
                   resolve: dict[str, str] | None = None) -> list[Finding]:
    """Required code bindings and reference targets of one resource's walked nodes. ``resolve``
    maps Bundle fullUrls to resource types, for ``urn:uuid`` references."""
    resolve = resolve or {}
    root = nodes[0].value if nodes else {}
    contained = {c.get("id"): c.get("resourceType") for c in root.get("contained", []) if isinstance(c, dict)}
    findings: list[Finding] = []

    def add(node: Node, rule: str, message: str, severity: str = "error") -> None:
        findings.append(Finding(severity=severity, resource_type=rtype, resource_id=rid, path=node.path,
                                message=message, rule=rule, source=node.source))

    for node in nodes:
        element = node.element
        if element is None:
            continue
        if node.type == "code" and element.binding_strength == "required" and isinstance(node.value, str):
            allowed = allowed_codes(version, element.path)
            if allowed is not None and node.value not in allowed[0]:
                codes, complete = allowed
                add(node, "binding",
                    f"{node.value!r} is not in the required value set {element.value_set} "
                    f"({' | '.join(sorted(codes))}{'' if complete else ' +'})",
                    "error" if complete else "warning")
        elif node.type in ("Reference", "CodeableReference") and isinstance(node.value, dict):
            ref = node.value.get("reference") if node.type == "Reference" else (node.value.get("reference") or {}).get("reference")
            if not isinstance(ref, str):
                continue
            target = reference_type(ref, resolve, contained)
            if target is None:
                if ref.startswith("urn:uuid:") and resolve:
                    add(node, "ref-target", f"{ref} does not resolve to an entry of the Bundle")
                continue
            if not definitions(version).is_resource(target):
                add(node, "ref-target", f"{ref} points to {target}, which is not a FHIR {version} resource type")
            elif element.targets and "Resource" not in element.targets and target not in element.targets:
                add(node, "ref-target",
                    f"{element.path} may point to {' | '.join(element.targets)}, not to {target} ({ref})")
    return findings
