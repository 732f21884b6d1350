"""Each file of broken/ breaks one rule: exactly that rule is reported, at that path.

broken/expected.json records, per file, the FHIR version, the rule id and the FHIRPath.
Information findings (e.g. an invariant fhirpathpy cannot evaluate) are not counted.
"""

import json
from pathlib import Path

import pytest

from mono2fhir.validate import validate

BROKEN = Path(__file__).parent / "broken"
EXPECTED = json.loads((BROKEN / "expected.json").read_text())
KNOWN = {("http://snomed.info/sct", "47625008")}


def test_every_file_has_an_expectation():
    files = {p.stem for p in BROKEN.glob("*.json")} - {"expected"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_reports_exactly_its_rule(name):
    expected = EXPECTED[name]
    data = json.loads((BROKEN / f"{name}.json").read_text())
    findings = validate(data, expected["fhir_version"], KNOWN)
    reported = {(f.rule, f.path) for f in findings if f.severity != "information"}
    assert reported == {(expected["rule"], expected["path"])}, "\n".join(f.render() for f in findings)
