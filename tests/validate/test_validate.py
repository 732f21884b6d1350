"""validate() as a whole: valid bundles pass, versions are detected, sources are carried."""

import copy

import pytest

from mono2fhir.canonical import EXT_SOURCE
from mono2fhir.validate import LAYERS, detect_version, validate



@pytest.mark.parametrize("version", ["R4", "R5"])
def test_valid_bundle_has_no_errors_or_warnings(valid_bundle, version, known):
    findings = validate(valid_bundle(version), version, known)
    assert [f.render() for f in findings if f.severity != "information"] == []


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_version_is_detected_from_content(valid_bundle, version, known):
    assert detect_version(valid_bundle(version)) == version


def test_detect_version_defaults_to_r4(known):
    assert detect_version({"resourceType": "Patient"}) == "R4"
    assert detect_version({"resourceType": "ClinicalUseDefinition", "type": "warning"}) == "R5"


def test_a_list_of_resources_is_validated_like_a_bundle(valid_bundle, known):
    resources = [e["resource"] for e in valid_bundle("R4")["entry"]]
    findings = validate(resources, "R4", known)
    assert [f for f in findings if f.severity == "error"] == []


def test_finding_source_is_the_nearest_enclosing_source(valid_bundle, known):
    bundle = valid_bundle("R4")
    dosage = bundle["entry"][0]["resource"]["administrationGuidelines"][0]["dosage"][0]["dosage"][0]
    dosage["doseAndRate"][0]["rateRange"]["low"]["code"] = "g/kg/day"
    findings = [f for f in validate(bundle, "R4", known) if f.rule == "ucum"]
    assert [f.source for f in findings] == ["examples/alanyl.md:30"]


def test_finding_source_falls_back_to_the_resource_then_none(valid_bundle, known):
    bundle = valid_bundle("R4")
    mk = bundle["entry"][0]["resource"]
    mk["status"] = "bogus"
    assert [f.source for f in validate(bundle, "R4", known) if f.rule == "binding"] == ["examples/alanyl.md:1"]
    mk["extension"] = [e for e in mk["extension"] if e["url"] != EXT_SOURCE]
    assert [f.source for f in validate(bundle, "R4", known) if f.rule == "binding"] == [None]


def test_layers_can_be_chosen(valid_bundle, known):
    bundle = valid_bundle("R4")
    bundle["entry"][0]["resource"]["status"] = "bogus"
    assert validate(bundle, "R4", known, layers=["structure"]) == []
    assert list(LAYERS) == ["structure", "bindings", "invariants", "units", "codes", "sanity"]


def test_unknown_version_is_refused(valid_bundle, known):
    with pytest.raises(ValueError, match="R6"):
        validate(valid_bundle("R4"), "R6")


def test_input_is_not_modified(valid_bundle, known):
    bundle = valid_bundle("R5")
    before = copy.deepcopy(bundle)
    validate(bundle, "R5", known)
    assert bundle == before
