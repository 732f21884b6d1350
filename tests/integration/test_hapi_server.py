"""The HAPI FHIR test server itself (interop/hapi-server) behaves like the HAPI servers mono2fhir's
users load bundles into: version, transactions with client-assigned ids and urn:uuid references,
no new version for an unchanged PUT, read/search/history, and offline $validate.

Ids get a per-run suffix, so these tests also pass against a long-running server given through
MONO2FHIR_TEST_HAPI_R4 / _R5.
"""

from __future__ import annotations

import uuid

import pytest
import requests

pytestmark = pytest.mark.integration

FHIR_JSON = "application/fhir+json"
HEADERS = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Cache-Control": "no-cache"}
FHIR_VERSION = {"R4": "4.0.1", "R5": "5.0.0"}


@pytest.fixture(params=["R4", "R5"])
def server(request) -> tuple[str, str]:
    """(FHIR version, base URL) for each of the two servers."""
    return request.param, request.getfixturevalue(f"hapi_{request.param.lower()}_url")


def post(url: str, body: dict) -> requests.Response:
    return requests.post(url, json=body, headers=HEADERS, timeout=120)


def get(url: str, **params) -> requests.Response:
    return requests.get(url, params=params, headers=HEADERS, timeout=60)


def issues(outcome: dict, *severities: str) -> list[dict]:
    return [i for i in outcome.get("issue", []) if i["severity"] in severities]


def medication_knowledge(mk_id: str, doc_ref: str, status: str = "active") -> dict:
    return {
        "resourceType": "MedicationKnowledge",
        "id": mk_id,
        "status": status,
        "code": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "713461000", "display": "L-alanyl-L-glutamine"},
                {"system": "http://www.whocc.no/atc", "code": "B05XB02", "display": "alanyl glutamine"},
            ],
            "text": "L-alanyl-L-glutamine",
        },
        "monograph": [{"source": {"reference": doc_ref}}],
    }


def document_reference(doc_id: str) -> dict:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "description": "Monograph: L-alanyl-L-glutamine",
        "content": [{"attachment": {"contentType": "text/markdown", "title": "l-alanyl-l-glutamine.md"}}],
    }


def bundle(kind: str, suffix: str) -> tuple[dict, str, str]:
    """A transaction/batch bundle PUTting a DocumentReference and a MedicationKnowledge whose
    monograph.source points at the document through its urn:uuid fullUrl."""
    mk_id, doc_id = f"l-alanyl-l-glutamine-{suffix}", f"l-alanyl-l-glutamine-doc-{suffix}"
    doc_urn = f"urn:uuid:{uuid.uuid4()}"
    # In a batch, entries are independent: no placeholder rewriting, so reference the real id.
    ref = doc_urn if kind == "transaction" else f"DocumentReference/{doc_id}"
    body = {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": medication_knowledge(mk_id, ref),
             "request": {"method": "PUT", "url": f"MedicationKnowledge/{mk_id}"}},
            {"fullUrl": doc_urn, "resource": document_reference(doc_id),
             "request": {"method": "PUT", "url": f"DocumentReference/{doc_id}"}},
        ],
    }
    return body, mk_id, doc_id


def test_metadata_reports_the_fhir_version(server):
    version, url = server
    r = get(f"{url}/metadata")
    assert r.status_code == 200
    cs = r.json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == FHIR_VERSION[version]
    types = {res["type"] for res in cs["rest"][0]["resource"]}
    assert {"MedicationKnowledge", "DocumentReference"} <= types


def test_transaction_put_with_urn_uuid_reference_then_unchanged_put_keeps_version(server):
    _, url = server
    suffix = uuid.uuid4().hex[:8]
    body, mk_id, doc_id = bundle("transaction", suffix)

    r = post(url, body)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in reply["entry"]]
    assert statuses == ["201 Created", "201 Created"]  # one entry per request entry, in order
    assert reply["entry"][0]["response"]["location"].startswith(f"MedicationKnowledge/{mk_id}/_history/1")

    mk = get(f"{url}/MedicationKnowledge/{mk_id}").json()
    assert mk["meta"]["versionId"] == "1"
    # The urn:uuid placeholder was rewritten to the stored document's id.
    assert mk["monograph"][0]["source"]["reference"] == f"DocumentReference/{doc_id}"

    # The same bundle again (fresh urn:uuids, same content): HAPI stores no new version.
    again, _, _ = bundle("transaction", suffix)
    r = post(url, again)
    assert r.status_code == 200, r.text
    for entry in r.json()["entry"]:
        assert entry["response"]["status"] == "200 OK"
        assert entry["response"]["etag"] in ('W/"1"', "1")  # HAPI 8.8 writes the bare version id
        assert "no changes detected" in entry["response"]["outcome"]["issue"][0]["diagnostics"]
    assert get(f"{url}/MedicationKnowledge/{mk_id}").json()["meta"]["versionId"] == "1"

    history = get(f"{url}/MedicationKnowledge/{mk_id}/_history").json()
    assert history["total"] == 1

    found = get(f"{url}/MedicationKnowledge", _id=mk_id).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [mk_id]


def test_batch_put(server):
    _, url = server
    body, mk_id, doc_id = bundle("batch", uuid.uuid4().hex[:8])
    # Entries of a batch run independently and in order: PUT the document first.
    body["entry"].reverse()
    r = post(url, body)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["type"] == "batch-response"
    assert [e["response"]["status"] for e in reply["entry"]] == ["201 Created", "201 Created"]
    assert get(f"{url}/DocumentReference/{doc_id}").status_code == 200


def test_validate_good_medication_knowledge_has_no_errors(server):
    _, url = server
    r = post(f"{url}/MedicationKnowledge/$validate",
             medication_knowledge("mk-good", "DocumentReference/any-doc"))
    assert r.status_code == 200, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert issues(outcome, "error", "fatal") == []
    # SNOMED CT and ATC cannot be checked offline: at most warnings, never errors.
    for issue in issues(outcome, "warning"):
        assert "dom-6" in issue.get("diagnostics", "") or "unknown" in issue.get("diagnostics", "")


def test_validate_broken_medication_knowledge_reports_an_error(server):
    version, url = server
    mk = medication_knowledge("mk-broken", "DocumentReference/any-doc")
    # An ingredient without its mandatory item (1..1): parses fine, fails validation.
    if version == "R4":
        mk["ingredient"] = [{"isActive": True}]
    else:
        mk["definitional"] = {"ingredient": [{"type": {"text": "active"}}]}
    r = post(f"{url}/MedicationKnowledge/$validate", mk)
    # HAPI 8.x answers 200 whatever the result (older HAPI answered 412): read the issues.
    assert r.status_code == 200, r.text
    errors = issues(r.json(), "error", "fatal")
    assert errors, r.text
    assert any("item" in e.get("diagnostics", "") for e in errors)


def test_validate_bogus_status_code_is_rejected_by_the_parser(server):
    _, url = server
    r = post(f"{url}/MedicationKnowledge/$validate",
             medication_knowledge("mk-bogus", "DocumentReference/any-doc", status="bogus"))
    # An unknown code in a required code element never reaches the validator: HAPI's parser
    # refuses the body with 400 (HAPI-1821), as it does for create/update.
    assert r.status_code == 400, r.text
    errors = issues(r.json(), "error", "fatal")
    assert errors and "bogus" in errors[0]["diagnostics"]
