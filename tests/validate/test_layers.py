"""The layers on their own: derived tables, UCUM, codes, sanity helpers, the typed walk."""

from decimal import Decimal

import pytest

from mono2fhir.validate.bindings import allowed_codes, reference_type, required_code_bindings
from mono2fhir.validate.codes import derived_hl7_codings, known
from mono2fhir.validate.definitions import definitions, walk
from mono2fhir.validate.invariants import _compiled, constraints_for
from mono2fhir.validate.sanity import convert, numbers_in_text
from mono2fhir.validate.structure import check_structure, loc_to_path
from mono2fhir.validate.units import ucum_error


def test_required_bindings_are_derived_from_the_definitions():
    codes, complete = allowed_codes("R4", "MedicationKnowledge.status")
    assert codes == {"active", "inactive", "entered-in-error"} and complete
    assert allowed_codes("R5", "ClinicalUseDefinition.type")[0] == {
        "indication", "contraindication", "interaction", "undesirable-effect", "warning"}
    assert allowed_codes("R4", "Timing.repeat.periodUnit")[0] == {"s", "min", "h", "d", "wk", "mo", "a"}
    assert allowed_codes("R4", "Quantity.comparator")[0] == {"<", "<=", ">=", ">"}  # from the short text
    assert allowed_codes("R4", "Attachment.contentType") is None  # mimetypes: not enumerable
    table = required_code_bindings("R4", ("Bundle",))
    assert table["Bundle.type"][0] == "http://hl7.org/fhir/ValueSet/bundle-type|4.0.1"


def test_reference_targets_come_from_the_definitions():
    element = definitions("R4").elements("MedicationKnowledge")["MedicationKnowledge.monograph.source"]
    assert set(element.targets) == {"DocumentReference", "Media"}
    assert definitions("R5").elements("MedicationKnowledge")["MedicationKnowledge.monograph.source"].targets == ("DocumentReference",)
    assert not definitions("R4").is_resource("ClinicalUseDefinition")
    assert definitions("R5").is_resource("ClinicalUseDefinition")


def test_reference_type():
    resolve = {"urn:uuid:1": "DocumentReference"}
    assert reference_type("urn:uuid:1", resolve, {}) == "DocumentReference"
    assert reference_type("http://x.org/fhir/Patient/p/_history/2", {}, {}) == "Patient"
    assert reference_type("#d", {}, {"d": "Device"}) == "Device"
    assert reference_type("urn:uuid:2", resolve, {}) is None


def test_invariants_come_from_the_definitions_and_compile_once():
    walked = list(walk({"resourceType": "MedicationKnowledge", "administrationGuidelines": [
        {"dosage": [{"type": {"text": "a"}, "dosage": [{"timing": {"repeat": {"period": 1}}}]}]}]}, "R4"))
    repeat = next(n for n in walked if n.path.endswith("timing.repeat"))
    keys = {c.key for c in constraints_for(repeat, "R4")}
    assert {"tim-1", "tim-2", "tim-4", "tim-5", "tim-6", "tim-7", "tim-8", "tim-9", "tim-10"} <= keys
    expression = next(c.expression for c in constraints_for(repeat, "R4") if c.key == "tim-2")
    assert _compiled("R4", expression) is _compiled("R4", expression)


def test_r4_ref1_is_used_in_its_corrected_form():
    element = definitions("R4").root("Reference")
    ref1 = next(c for c in element.constraints if c.key == "ref-1")
    assert ref1.expression.startswith("reference.exists() implies (")


def test_walk_paths_types_and_sources():
    resource = {"resourceType": "MedicationKnowledge", "extension": [
        {"url": "http://mono2fhir.org/fhir/StructureDefinition/source-location", "valueString": "x.md:2"}],
        "monitoringProgram": [{"name": "renal"}]}
    nodes = {n.path: n for n in walk(resource, "R5")}
    assert nodes["MedicationKnowledge.monitoringProgram[0].name"].type == "string"
    assert nodes["MedicationKnowledge.monitoringProgram[0]"].source == "x.md:2"


@pytest.mark.parametrize("code", ["mg", "g/kg/d", "[iU]/kg/h", "mg/kg", "/d", "ug", "mL", "mmol", "10*3/uL", "%"])
def test_valid_ucum(code):
    assert ucum_error(code) is None


@pytest.mark.parametrize("code", ["mg/kg/day", "units", "mcg", "bogus", "", " mg"])
def test_invalid_ucum(code):
    assert ucum_error(code) is not None


def test_codes_known_from_mappings_bindings_and_hl7():
    assert known("http://snomed.info/sct", "1", "R4", {("http://snomed.info/sct", "1")})
    assert known("http://terminology.hl7.org/CodeSystem/v3-ActCode", "COND", "R4", set())
    assert not known("http://terminology.hl7.org/CodeSystem/v3-ActCode", "XYZ", "R4", set())
    assert ("http://hl7.org/fhir/detectedissue-severity", "high") in derived_hl7_codings("R5")


def test_numbers_in_text():
    assert numbers_in_text("0.5 to 1 g/kg/day, 2,550 mg twice daily for 10-14 days") == {
        Decimal("0.5"), Decimal(1), Decimal(2550), Decimal(2), Decimal(10), Decimal(14)}


def test_unit_conversion():
    assert convert(Decimal(2), "g", "mg") == Decimal(2000)
    assert convert(Decimal(1), "g", "mL") is None


def test_structure_paths():
    assert loc_to_path("MedicationKnowledge", ("administrationGuidelines", 0, "dosage")) == \
        "MedicationKnowledge.administrationGuidelines[0].dosage"
    assert [f.path for f in check_structure({"resourceType": "Nope"}, "R4")] == ["Nope"]


def test_zero_dose_and_zero_interval_are_warnings():
    from mono2fhir.validate import validate

    dosage = {"text": "0 mg every 0 hours",
              "timing": {"repeat": {"frequency": 1, "period": 0, "periodUnit": "h"}},
              "doseAndRate": [{"doseQuantity": {"value": 0, "unit": "mg", "system": "http://unitsofmeasure.org",
                                                "code": "mg"}}]}
    resource = {"resourceType": "MedicationKnowledge", "id": "m", "status": "active",
                "administrationGuidelines": [{"dosage": [{"type": {"text": "Adults"}, "dosage": [dosage]}]}]}
    findings = [f for f in validate(resource, "R4", layers=["sanity"]) if f.rule == "sanity-not-positive"]
    assert sorted(f.path.rsplit(".", 2)[-1] for f in findings) == ["doseQuantity", "period"]
    assert all(f.severity == "warning" for f in findings)
