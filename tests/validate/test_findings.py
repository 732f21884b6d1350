from mono2fhir.validate.findings import Finding, counts, render_text, to_operation_outcome, to_outcome_bundle

F1 = Finding(severity="warning", resource_type="MedicationKnowledge", resource_id="m", path="MedicationKnowledge.status",
             message="odd", rule="binding", source="a.md:3")
F2 = Finding(severity="error", resource_type="Bundle", path="Bundle", message="dup", rule="bdl-7")


def test_text_is_one_line_per_finding_errors_first():
    lines = render_text([F1, F2]).splitlines()
    assert lines == [
        "error: Bundle Bundle: [bdl-7] dup",
        "warning: MedicationKnowledge/m MedicationKnowledge.status: [binding] odd (from a.md:3)",
    ]
    assert render_text([]) == ""


def test_operation_outcome_issue_fields():
    outcome = to_operation_outcome([F1], "in.json")
    issue = outcome["issue"][0]
    assert outcome["resourceType"] == "OperationOutcome"
    assert issue == {"severity": "warning", "code": "code-invalid", "details": {"text": "binding"},
                     "diagnostics": "odd (from a.md:3)", "expression": ["MedicationKnowledge.status"]}
    assert to_operation_outcome([F2])["issue"][0]["code"] == "invariant"


def test_empty_outcome_still_has_an_issue():
    assert to_operation_outcome([])["issue"][0]["severity"] == "information"


def test_outcome_bundle_has_one_outcome_per_input():
    bundle = to_outcome_bundle({"a.json": [F1], "b.json": []})
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["OperationOutcome"] * 2
    assert bundle["type"] == "collection"


def test_counts_and_threshold():
    assert counts([F1, F2]) == {"error": 1, "warning": 1, "information": 0}
    assert F1.at_least("warning") and not F1.at_least("error")
