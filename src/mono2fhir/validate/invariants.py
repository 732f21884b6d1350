"""Invariants layer: the FHIRPath constraints of the FHIR definitions, evaluated with fhirpathpy.

Which invariants apply where, and their expressions, come from the StructureDefinitions of the
version (see ``definitions``: FHIR 4.0.1 for R4, 5.0.0 for R5): on each element, the constraints
of its element definition plus those of its type's root (so rng-2 runs on every Range, tim-* on
every Timing.repeat, bdl-* on the Bundle and its entries, cud-1 on each ClinicalUseDefinition). Each
distinct expression is compiled once per version and kept (``_compiled``). A result counts as a
pass only when it is exactly ``[True]``.

Two adaptations to fhirpathpy, neither changing what an expression means:
- ele-1 (``hasValue() or (children().count() > id.count())``) is decided without the engine for a
  JSON object that has any property other than ``id`` (then it holds); the engine runs on the rest;
- fhirpathpy cannot order two Quantities, so for R4 rng-2 (``low <= high``) a Range whose low and
  high share one unit is handed over with their decimal values (see ``_range_as_fhirpath_data``);
- functions fhirpathpy lacks are supplied as user functions following the FHIRPath definitions:
  ``hasValue()`` (ele-1, bdl-10), and ``lowBoundary()`` / ``highBoundary()`` / ``comparable()`` on
  Quantities (R5 rng-2).
Invariants that need what fhirpathpy lacks (``htmlChecks()``, ``resolve()``, ``conformsTo()``,
``memberOf()``, ``descendants()``: txt-1, dom-3, ...) are skipped; see ``UNSUPPORTED_FUNCTIONS``.
An expression the engine fails on is reported once per resource as information (rule
``invariant-eval``), never silently passed.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.engine.util import get_data
from fhirpathpy.models import models

from .definitions import Constraint, Node, definitions
from .findings import Finding

_MODEL = {"R4": models["r4"], "R5": models["r5"]}
UNSUPPORTED_FUNCTIONS = ("htmlChecks", "resolve()", "conformsTo", "memberOf", "descendants()")
_PRIMITIVES_SKIP = frozenset({"xhtml"})


def _has_value(inputs: list) -> list[bool]:
    """FHIRPath hasValue(), which fhirpathpy does not implement: a single primitive with a value."""
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], (dict, list))]


class _UnitDecimal(Decimal):
    """A decimal boundary that remembers its UCUM unit, for R5 rng-2's comparable()."""

    unit: str | None = None


def _boundary(inputs: list, sign: int) -> list:
    """lowBoundary() / highBoundary() of a Quantity (R5 rng-2), which fhirpathpy lacks: the value
    -/+ half a unit of its last written decimal place, with the unit kept for comparable()."""
    if len(inputs) != 1 or not isinstance(inputs[0], dict) or "value" in inputs[0] and inputs[0]["value"] is None:
        return []
    q = inputs[0]
    try:
        value = Decimal(str(q["value"]))
    except (KeyError, ArithmeticError, ValueError):
        return []
    exponent = value.as_tuple().exponent if isinstance(value.as_tuple().exponent, int) else 0
    out = _UnitDecimal(value + sign * Decimal(5).scaleb(exponent - 1))
    out.unit = f"{q.get('system')}|{q.get('code')}"
    return [out]


def _comparable(inputs: list, other: list) -> list[bool]:
    if len(inputs) != 1 or len(other) != 1:
        return []
    return [getattr(inputs[0], "unit", None) == getattr(get_data(other[0]), "unit", None)]


_OPTIONS = {
    "traceFn": lambda label, value: None,  # ref-1 calls trace(); the library never prints
    "userInvocationTable": {
        "hasValue": {"fn": _has_value, "arity": {0: []}},
        "lowBoundary": {"fn": lambda inputs: _boundary(inputs, -1), "arity": {0: []}},
        "highBoundary": {"fn": lambda inputs: _boundary(inputs, +1), "arity": {0: []}},
        "comparable": {"fn": _comparable, "arity": {1: ["AnyAtRoot"]}},
    },
}


@cache
def _compiled(version: str, expression: str):
    return fhirpath_compile(expression, _MODEL[version], _OPTIONS)


def unsupported(constraint: Constraint) -> bool:
    return any(fn in constraint.expression for fn in UNSUPPORTED_FUNCTIONS)


def constraints_for(node: Node, version: str) -> tuple[Constraint, ...]:
    """The constraints that apply at a node: its element's and its type's (deduplicated by key)."""
    return _constraints_for(version, node.element.path if node.element else None, node.type)


@cache
def _constraints_for(version: str, element_path: str | None, type_name: str) -> tuple[Constraint, ...]:
    defs = definitions(version)
    found: dict[str, Constraint] = {}
    if element_path is not None:
        element = defs.elements(element_path.split(".", 1)[0]).get(element_path)
        for c in element.constraints if element else ():
            found.setdefault(c.key, c)
    root = defs.root(type_name) if defs.has_type(type_name) and (element_path is None or element_path != type_name) else None
    for c in root.constraints if root else ():
        found.setdefault(c.key, c)
    return tuple(found.values())


def _range_as_fhirpath_data(value: Any) -> Any:
    """A Range whose low and high have the same system and unit code is handed to the engine with
    their decimal values (quantities of one unit compare as their values); fhirpathpy cannot order
    two Quantities (its FP_Quantity has no ordering). Ranges in two units stay as they are: the
    engine then fails, which is reported, and sanity-low-high compares them with UCUM conversion."""
    if not isinstance(value, dict):
        return value
    low, high = value.get("low"), value.get("high")
    if (
        isinstance(low, dict) and isinstance(high, dict)
        and (low.get("system"), low.get("code")) == (high.get("system"), high.get("code"))
        and isinstance(low.get("value"), (int, float)) and isinstance(high.get("value"), (int, float))
    ):
        return {**value, "low": Decimal(str(low["value"])), "high": Decimal(str(high["value"]))}
    return value


def _ele1_trivially_holds(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k != "id" for k in value)
    return value is not None and value != ""  # a primitive with a value


def check_invariants(nodes: list[Node], version: str, rtype: str, rid: str | None) -> list[Finding]:
    findings: list[Finding] = []
    root = nodes[0].value if nodes else {}
    reported_unsupported: set[str] = set()
    for node in nodes:
        if node.type in _PRIMITIVES_SKIP:
            continue
        for constraint in constraints_for(node, version):
            if constraint.key == "ele-1" and _ele1_trivially_holds(node.value):
                continue
            if unsupported(constraint):
                continue
            if constraint.key == "dom-6" and node.path != rtype:
                continue  # narrative is asked of resources, not of the ones they contain

            try:
                result = _evaluate(constraint, node, version, root)
            except Exception as exc:  # noqa: BLE001 - an engine failure is reported, never hidden
                if constraint.key not in reported_unsupported:
                    reported_unsupported.add(constraint.key)
                    findings.append(Finding(severity="information", resource_type=rtype, resource_id=rid, path=node.path,
                                            message=f"fhirpathpy could not evaluate {constraint.key} ({constraint.expression}): {exc}",
                                            rule="invariant-eval", source=node.source))
                continue
            if result != [True]:
                severity = "error" if constraint.severity == "error" else "warning"
                findings.append(Finding(severity=severity, resource_type=rtype, resource_id=rid, path=node.path,
                                        message=f"{constraint.human} ({constraint.expression})", rule=constraint.key,
                                        source=node.source))
    return findings


def _evaluate(constraint: Constraint, node: Node, version: str, root: dict) -> list:
    fn = _compiled(version, constraint.expression)
    data = _range_as_fhirpath_data(node.value) if node.type == "Range" and version == "R4" else node.value
    resource = node.value if isinstance(node.value, dict) and "resourceType" in node.value else root
    context = {"resource": resource, "rootResource": root}
    if isinstance(data, dict) and "resourceType" in data:
        subject = data
    else:
        subject = ResourceNode.create_node(data, node.type if node.type not in ("BackboneElement", "Element") else node.element.path)
    return list(fn(subject, context))
