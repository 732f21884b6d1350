"""Codes layer: every Coding's (system, code) is one mono2fhir may emit.

A coding passes when it is
- in the mappings/ tables (``Terminology.known_codings``), or
- a code of a core HL7 code system behind a required binding of the version, derived from the
  definitions by ``bindings.required_code_bindings`` (value set ``.../ValueSet/x`` -> code systems
  ``http://hl7.org/fhir/x`` and ``http://terminology.hl7.org/CodeSystem/x``), or
- in ``HL7_CODES``: the HL7 code systems the builders use in CodeableConcepts (DESIGN §5).
Anything else is an unknown code: an error, since a wrong code is worse than none.
"""

from __future__ import annotations

from functools import cache

from .bindings import required_code_bindings
from .definitions import Node
from .findings import Finding

# HL7 codes the builders put into CodeableConcepts (bindings there are example/preferred, so the
# definitions do not enumerate them). Code lists as published in FHIR R5 5.0.0 / THO.
HL7_CODES: dict[str, frozenset[str]] = {
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": frozenset({"COND"}),
    "http://hl7.org/fhir/detectedissue-severity": frozenset({"high", "moderate", "low"}),
    "http://terminology.hl7.org/CodeSystem/detectedissue-severity": frozenset({"high", "moderate", "low"}),
    "http://hl7.org/fhir/clinical-use-definition-type": frozenset(
        {"indication", "contraindication", "interaction", "undesirable-effect", "warning"}
    ),
    "http://hl7.org/fhir/clinical-use-definition-category": frozenset({"Pregnancy", "Overdose", "DriveAndMachines"}),
    "http://hl7.org/fhir/undesirable-effect-frequency": frozenset({"Common", "Uncommon", "Rare"}),
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type": frozenset(
        {"enterer", "performer", "author", "verifier", "legal", "attester", "informant", "custodian", "assembler", "composer"}
    ),
}

_EMITTED_TYPES = ("MedicationKnowledge", "DetectedIssue", "ClinicalUseDefinition", "DocumentReference", "Provenance",
                  "Bundle", "Dosage", "Timing", "Quantity", "Narrative", "Identifier")


@cache
def derived_hl7_codings(version: str) -> frozenset[tuple[str, str]]:
    """(system, code) of the core code systems behind the version's required code bindings."""
    found: set[tuple[str, str]] = set()
    for value_set, codes in required_code_bindings(version, _EMITTED_TYPES).values():
        if not value_set or "/ValueSet/" not in value_set:
            continue
        vs_id = value_set.split("|", 1)[0].rsplit("/", 1)[-1]
        for system in (f"http://hl7.org/fhir/{vs_id}", f"http://terminology.hl7.org/CodeSystem/{vs_id}"):
            found.update((system, code) for code in codes)
    return frozenset(found)


def known(system: str, code: str, version: str, terminology_codings: set[tuple[str, str]] | frozenset) -> bool:
    return (
        (system, code) in terminology_codings
        or code in HL7_CODES.get(system, ())
        or (system, code) in derived_hl7_codings(version)
    )


def check_codes(nodes: list[Node], version: str, rtype: str, rid: str | None,
                terminology_codings: set[tuple[str, str]] | frozenset) -> list[Finding]:
    findings = []
    for node in nodes:
        if node.type != "Coding" or not isinstance(node.value, dict):
            continue
        system, code = node.value.get("system"), node.value.get("code")
        if not isinstance(code, str):
            continue
        if not isinstance(system, str):
            findings.append(Finding(severity="error", resource_type=rtype, resource_id=rid, path=node.path,
                                    message=f"code {code!r} has no system", rule="code-unknown", source=node.source))
        elif not known(system, code, version, terminology_codings):
            findings.append(Finding(severity="error", resource_type=rtype, resource_id=rid, path=node.path,
                                    message=f"{system}|{code} is not in mappings/ nor a known HL7 code",
                                    rule="code-unknown", source=node.source))
    return findings
