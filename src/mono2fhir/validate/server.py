"""The external judge: ``$validate`` on a FHIR server (HAPI) for every resource, as findings.

Each resource is posted on its own to ``[base]/Type/$validate``; a Bundle's ``urn:uuid`` references
are first turned back into the ``Type/id`` they stand for, because outside its bundle a placeholder
means nothing to the server. The OperationOutcome's issues become findings with rule ``server``.
A server that cannot be reached or refuses the credentials raises ``ServerError`` (exit 3): that is
not a property of the input.
"""

from __future__ import annotations

from typing import Any

import requests

from ..canonical import EXT_SOURCE
from ..client import capability, server_fhir_version, validate_on_server
from ..errors import ServerError
from ..io import rewrite_references
from .findings import Finding

SEVERITY = {"fatal": "error", "error": "error", "warning": "warning", "information": "information"}


def _type_ids(data: Any) -> tuple[list[dict], dict[str, str]]:
    """The resources to validate and the fullUrl -> Type/id map of the Bundle(s) they came in."""
    resources: list[dict] = []
    urls: dict[str, str] = {}
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict):
            continue
        if item.get("resourceType") != "Bundle":
            resources.append(item)
            continue
        for entry in item.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                resources.append(resource)
                if isinstance(entry.get("fullUrl"), str) and resource.get("id"):
                    urls[entry["fullUrl"]] = f"{resource.get('resourceType')}/{resource['id']}"
    return resources, urls


def _source(resource: dict) -> str | None:
    for extension in resource.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == EXT_SOURCE:
            return extension.get("valueString")
    return None


def outcome_findings(outcome: dict, resource: dict) -> list[Finding]:
    """One finding per OperationOutcome issue about ``resource``."""
    rtype = resource.get("resourceType", "Resource")
    findings = []
    for issue in outcome.get("issue") or []:
        severity = SEVERITY.get(issue.get("severity"), "error")
        where = (issue.get("expression") or issue.get("location") or [rtype])[0]
        message = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or issue.get("code", "")
        if severity == "information":
            # HAPI says "No issues detected" and, for every extension whose definition it has not
            # loaded (ours), "Unknown extension": hundreds of lines that are not problems.
            continue
        findings.append(Finding(severity=severity, resource_type=rtype, resource_id=resource.get("id"),
                                path=where, message=message, rule="server", source=_source(resource)))
    return findings


class ServerValidator:
    """``$validate`` against one server; a callable ``(data, fhir_version) -> findings``."""

    def __init__(self, session: requests.Session, base_url: str):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.server_version = server_fhir_version(capability(session, self.base_url))

    def __call__(self, data: Any, fhir_version: str) -> list[Finding]:
        resources, urls = _type_ids(data)
        if self.server_version and self.server_version != fhir_version:
            return [Finding(severity="error", resource_type="Resource", path="Resource", rule="server",
                            message=f"input is FHIR {fhir_version} but {self.base_url} is FHIR {self.server_version}; "
                                    "validate against a server of the input's version")]
        findings: list[Finding] = []
        for resource in resources:
            payload = rewrite_references(resource, urls)
            try:
                outcome = validate_on_server(self.session, self.base_url, payload)
            except ServerError as exc:
                if exc.status not in (400, 422):  # unreachable, auth, 5xx: not about this resource
                    raise
                # HAPI refuses a body it cannot parse (status "bogus": HAPI-1821) before validating
                outcome = {"issue": [{"severity": "error", "diagnostics": exc.outcome or str(exc)}]}
            findings.extend(outcome_findings(outcome, resource))
        return findings
