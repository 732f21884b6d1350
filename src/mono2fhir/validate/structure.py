"""Structure layer: parse each resource with the fhir.resources models of its FHIR version.

R4 output is parsed with ``fhir.resources.R4B`` (R4 and R4B share the structure of every type
mono2fhir emits), R5 with ``fhir.resources``. Each pydantic error becomes a finding with rule
``structure`` at the FHIRPath of the element it points to.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from pydantic import ValidationError

from .definitions import definitions
from .findings import Finding

_MODEL_PACKAGES = {"R4": "fhir.resources.R4B", "R5": "fhir.resources"}


@cache
def _class_getter(version: str) -> Callable[[str], Any]:
    module = __import__(_MODEL_PACKAGES[version], fromlist=["get_fhir_model_class"])
    return module.get_fhir_model_class


def model_class(resource_type: str, version: str):
    """The fhir.resources class of a resource type, or None when the version has no such type."""
    try:
        return _class_getter(version)(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def loc_to_path(resource_type: str, loc: tuple) -> str:
    """('administrationGuidelines', 0, 'dosage') -> 'MedicationKnowledge.administrationGuidelines[0].dosage'."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("__root__", "") or (isinstance(part, str) and part.startswith("function-")):
            continue
        else:
            path += f".{part}"
    return path


def check_structure(resource: dict, version: str) -> list[Finding]:
    """Findings for one resource (for a Bundle: the Bundle without its entries' resources, which
    are checked one by one by the caller)."""
    rtype = resource.get("resourceType")
    rid = resource.get("id") if isinstance(resource.get("id"), str) else None
    if not isinstance(rtype, str) or not rtype:
        return [Finding(severity="error", resource_type="Resource", resource_id=rid, path="Resource",
                        message="not a FHIR resource: no resourceType", rule="structure")]
    cls = model_class(rtype, version)
    if cls is None or not definitions(version).is_resource(rtype):
        return [Finding(severity="error", resource_type=rtype, resource_id=rid, path=rtype,
                        message=f"{rtype} is not a FHIR {version} resource type", rule="structure")]
    if rtype == "Bundle":
        resource = {**resource, "entry": [_entry_shell(e) for e in resource.get("entry", [])]} if isinstance(resource.get("entry"), list) else resource
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        return [
            Finding(severity="error", resource_type=rtype, resource_id=rid, path=loc_to_path(rtype, err["loc"]),
                    message=f"{err['msg']} ({err['type']})", rule="structure")
            for err in exc.errors()
        ]
    except (ValueError, TypeError) as exc:  # fhir.resources raises these for some malformed input
        return [Finding(severity="error", resource_type=rtype, resource_id=rid, path=rtype, message=str(exc), rule="structure")]
    return []


def _entry_shell(entry: Any) -> Any:
    """A Bundle entry without its resource, which is checked on its own. (Parsing the resource
    inside the Bundle model would also make fhir.resources import every resource module: ~50 s.)"""
    if isinstance(entry, dict) and "resource" in entry:
        return {k: v for k, v in entry.items() if k != "resource"}
    return entry
