"""The push package without a server: grouping, chunking, bundle building, response classification and the
read-back comparison (these run in the unit layer; the module sits beside test_push.py)."""

from __future__ import annotations

import json

import pytest

from mono2fhir.push import (Group, Item, PushUsageError, build_bundle, chunk_groups, classify_entry, compare,
                            groups_from_bundle, groups_from_resources, load_inputs)
from mono2fhir import ids


def res(rtype, rid, **extra):
    return {"resourceType": rtype, "id": rid, **extra}


def ref(rtype, rid):
    return {"reference": ids.full_url(rtype, rid)}


def two_monographs() -> dict:
    resources = [
        res("MedicationKnowledge", "a", monograph=[{"source": ref("DocumentReference", "a-doc")}]),
        res("DocumentReference", "a-doc", status="current"),
        res("Provenance", "a-prov", target=[ref("MedicationKnowledge", "a")]),
        res("MedicationKnowledge", "b"),
        res("DetectedIssue", "b-ci-1", implicated=[ref("MedicationKnowledge", "b")]),
    ]
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": ids.full_url(r["resourceType"], r["id"]), "resource": r} for r in resources]}


def test_groups_follow_references():
    groups = groups_from_bundle(two_monographs(), "all.json")
    assert [[it.key for it in g.items] for g in groups] == [
        ["MedicationKnowledge/a", "DocumentReference/a-doc", "Provenance/a-prov"],
        ["MedicationKnowledge/b", "DetectedIssue/b-ci-1"]]
    assert [g.label for g in groups] == ["all.json#MedicationKnowledge/a", "all.json#MedicationKnowledge/b"]


def test_one_group_bundle_is_labelled_by_file():
    bundle = two_monographs()
    bundle["entry"] = bundle["entry"][3:]
    assert [g.label for g in groups_from_bundle(bundle, "b.json")] == ["b.json"]


def test_resource_without_id_is_refused():
    with pytest.raises(PushUsageError, match="entry 0 has no resource"):
        groups_from_bundle({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Basic"}}]}, "x")


@pytest.mark.parametrize("sizes, batch, expected", [
    ([3, 2, 2, 5, 1], 5, [[3, 2], [2], [5], [1]]),
    ([7, 1], 5, [[7], [1]]),  # a monograph larger than the batch travels alone, unsplit
    ([1, 1, 1], 100, [[1, 1, 1]]),
    ([2, 2], 1, [[2], [2]]),
])
def test_chunks_never_split_a_monograph(sizes, batch, expected):
    groups = [Group(f"g{n}", [Item("Basic", f"g{n}-{k}", {}, f"u{n}-{k}") for k in range(s)])
              for n, s in enumerate(sizes)]
    chunks = chunk_groups(groups, batch)
    assert [[len(g.items) for g in c] for c in chunks] == expected
    assert [g for c in chunks for g in c] == groups


def test_transaction_entries_are_puts_with_dependencies_first():
    bundle = build_bundle(groups_from_bundle(two_monographs(), "x"), "transaction")
    urls = [e["request"]["url"] for e in bundle["entry"]]
    assert all(e["request"]["method"] == "PUT" for e in bundle["entry"])
    assert urls.index("DocumentReference/a-doc") < urls.index("MedicationKnowledge/a") < urls.index("Provenance/a-prov")
    mk = next(e["resource"] for e in bundle["entry"] if e["request"]["url"] == "MedicationKnowledge/a")
    assert mk["monograph"][0]["source"]["reference"].startswith("urn:uuid:")


def test_batch_entries_use_literal_references():
    bundle = build_bundle(groups_from_bundle(two_monographs(), "x"), "batch")
    assert bundle["type"] == "batch"
    text = json.dumps(bundle["entry"][0]["resource"]) + json.dumps([e["resource"] for e in bundle["entry"]])
    assert '"reference": "DocumentReference/a-doc"' in text and "urn:uuid" not in text


def test_ndjson_resources_become_placeholder_entries():
    resources = [res("MedicationKnowledge", "a", monograph=[{"source": {"reference": "DocumentReference/a-doc"}}]),
                 res("DocumentReference", "a-doc"), res("MedicationKnowledge", "z")]
    groups = groups_from_resources(resources, "folder")
    assert len(groups) == 2
    mk = groups[0].items[0]
    assert mk.full_url == ids.full_url("MedicationKnowledge", "a")
    assert mk.body["monograph"][0]["source"]["reference"] == ids.full_url("DocumentReference", "a-doc")


def test_load_inputs_records_bad_files_and_continues(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(two_monographs()))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "x.ndjson").write_text(json.dumps(res("Basic", "nd-1")) + "\n\n")
    groups, failures = load_inputs([tmp_path], "R4")
    assert len(groups) == 3 and [f.monograph for f in failures] == [str(tmp_path / "broken.json")]
    with pytest.raises(PushUsageError, match="in both"):
        load_inputs([tmp_path, tmp_path / "good.json"], "R4")
    with pytest.raises(PushUsageError, match="no such file"):
        load_inputs([tmp_path / "missing"], "R4")


def outcome(code):
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational",
            "details": {"coding": [{"system": "https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code",
                                    "code": code}]}}]}


@pytest.mark.parametrize("response, expected", [
    ({"status": "201 Created", "outcome": outcome("SUCCESSFUL_UPDATE_AS_CREATE")}, ("created", 201)),
    ({"status": "200 OK", "outcome": outcome("SUCCESSFUL_UPDATE")}, ("updated", 200)),
    ({"status": "200 OK", "outcome": outcome("SUCCESSFUL_UPDATE_NO_CHANGE")}, ("unchanged", 200)),
    ({"status": "201"}, ("created", 201)),  # a server without outcome codes
    ({"status": "200 OK"}, ("updated", 200)),
    ({"status": "422 Unprocessable Entity"}, ("failed", 422)),
    ({}, ("failed", 0)),
])
def test_classify_entry(response, expected):
    assert classify_entry(response) == expected


def test_compare_ignores_meta_generated_text_and_maps_references():
    urn = ids.full_url("DocumentReference", "d")
    sent = res("MedicationKnowledge", "a", source={"reference": urn}, amount={"value": 0.5})
    stored = res("MedicationKnowledge", "a", source={"reference": "http://h/fhir/DocumentReference/d/_history/3"},
                 amount={"value": 0.50}, meta={"versionId": "3"},
                 text={"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"})
    assert compare(sent, stored, {urn: "DocumentReference/d"}, "http://h/fhir") == []


def test_compare_reports_paths():
    sent = res("MedicationKnowledge", "a", code={"text": "x"}, x=[1, 2])
    stored = res("MedicationKnowledge", "a", code={"text": "y"}, x=[1], extra=True)
    diffs = compare(sent, stored, {}, "http://h")
    assert [d[0] for d in diffs] == ["MedicationKnowledge.code.text", "MedicationKnowledge.x[1]",
                                     "MedicationKnowledge.extra"]


def test_narrative_is_compared_as_xml():
    div = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Ringer&#x27;s</p></div>'
    same = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Ringer's</p></div>"
    other = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Ringer</p></div>"
    text = {"status": "generated"}
    sent = res("Basic", "b", text=text | {"div": div})
    assert compare(sent, res("Basic", "b", text=text | {"div": same}), {}, "h") == []
    assert [d[0] for d in compare(sent, res("Basic", "b", text=text | {"div": other}), {}, "h")] == ["Basic.text.div"]
