"""Findings: what every validation layer returns, and how they are reported.

A ``Finding`` names the resource, the FHIRPath of the element, the rule that was broken and, for
mono2fhir output, the monograph ``path:line`` the element was built from. Reporting is data in, data
out: ``render_text`` gives one line per finding and ``to_operation_outcome`` / ``to_outcome_bundle``
give FHIR OperationOutcome JSON. Nothing here prints.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..canonical import BASE

# Names the validated input (file) on each OperationOutcome of a --format json report.
EXT_VALIDATED_INPUT = f"{BASE}/StructureDefinition/validated-input"

Severity = Literal["error", "warning", "information"]

SEVERITY_RANK: dict[str, int] = {"information": 0, "warning": 1, "error": 2}

# OperationOutcome.issue.code (http://hl7.org/fhir/issue-type) for each family of rules; the rule id
# itself goes into issue.details.text.
_ISSUE_TYPE_BY_RULE_PREFIX: dict[str, str] = {
    "structure": "structure",
    "binding": "code-invalid",
    "ref-target": "invalid",
    "ucum": "value",
    "code-unknown": "code-invalid",
    "sanity": "business-rule",
    "invariant-eval": "informational",
}


class Finding(BaseModel):
    """One problem found in one element of one resource."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    resource_type: str
    resource_id: str | None = None
    path: str  # FHIRPath of the element, e.g. MedicationKnowledge.administrationGuidelines[0]
    message: str
    rule: str  # "rng-2", "binding", "ref-target", "ucum", "code-unknown", "sanity-low-high", ...
    source: str | None = None  # monograph "path:line" the element came from

    @property
    def issue_type(self) -> str:
        for prefix, code in _ISSUE_TYPE_BY_RULE_PREFIX.items():
            if self.rule.startswith(prefix):
                return code
        return "invariant"  # FHIR invariants: ele-1, rng-2, bdl-7, ...

    def at_least(self, severity: str) -> bool:
        return SEVERITY_RANK[self.severity] >= SEVERITY_RANK[severity]

    def render(self) -> str:
        where = f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.resource_type
        origin = f" (from {self.source})" if self.source else ""
        return f"{self.severity}: {where} {self.path}: [{self.rule}] {self.message}{origin}"


def sort_key(finding: Finding) -> tuple:
    return (-SEVERITY_RANK[finding.severity], finding.resource_type, finding.resource_id or "", finding.path, finding.rule)


def render_text(findings: Iterable[Finding]) -> str:
    """One finding per line, errors first. Empty string when there is nothing to say."""
    return "\n".join(f.render() for f in sorted(findings, key=sort_key))


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    result = {"error": 0, "warning": 0, "information": 0}
    for f in findings:
        result[f.severity] += 1
    return result


def _issue(finding: Finding) -> dict:
    issue: dict = {
        "severity": finding.severity,
        "code": finding.issue_type,
        "details": {"text": finding.rule},
        "diagnostics": finding.message + (f" (from {finding.source})" if finding.source else ""),
        "expression": [finding.path],
    }
    return issue


def to_operation_outcome(findings: Sequence[Finding], input_name: str | None = None) -> dict:
    """An OperationOutcome for one input. With no findings it holds the one informational issue
    FHIR asks for (an OperationOutcome needs at least one issue)."""
    issues = [_issue(f) for f in sorted(findings, key=sort_key)]
    if not issues:
        issues = [{"severity": "information", "code": "informational", "diagnostics": "no issues found"}]
    outcome: dict = {"resourceType": "OperationOutcome", "issue": issues}
    if input_name:
        outcome["extension"] = [{"url": EXT_VALIDATED_INPUT, "valueString": input_name}]
    return outcome


def to_outcome_bundle(findings_by_input: Mapping[str, Sequence[Finding]]) -> dict:
    """A collection Bundle with one OperationOutcome per input (for several inputs)."""
    entries = []
    for name, findings in findings_by_input.items():
        outcome = to_operation_outcome(findings, name)
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}", "resource": outcome})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
