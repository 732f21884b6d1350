"""The acceptance facts of issue 2 on the reference monograph, in R4 and R5, plus extraction rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import SEED

from mono2fhir.convert import convert_file
from mono2fhir.extract.knowledge import merge_steps
from mono2fhir.extract.monitoring import split_parameters
from mono2fhir.model import DoseAndRate, DoseKind, DosageInstruction, Quantity, Ratio, Source, Timing


def by_type(resources, resource_type):
    return [r for r in resources if r["resourceType"] == resource_type]


@pytest.fixture(scope="module")
def seed_r4(terminology):
    return convert_file(SEED, "R4", terminology).resources


@pytest.fixture(scope="module")
def seed_r5(terminology):
    return convert_file(SEED, "R5", terminology).resources


def test_seed_r4_medication_knowledge(seed_r4):
    mk = by_type(seed_r4, "MedicationKnowledge")[0]
    assert mk["code"]["text"] == "L-alanyl-L-glutamine"
    assert {"system": "http://www.whocc.no/atc", "code": "B05XB02", "display": "alanyl glutamine"} in mk["code"]["coding"]
    assert mk["status"] == "active"
    assert {"Dipeptiven", "Glamin", "Alanyl glutamine"} <= set(mk["synonym"])
    assert mk["intendedRoute"][0]["coding"][0]["code"] == "47625008"
    assert mk["medicineClassification"][0]["classification"][0]["text"] == "Nutritional agent"


def test_seed_r4_adult_dosage_is_the_design_encoding(seed_r4):
    mk = by_type(seed_r4, "MedicationKnowledge")[0]
    adults = next(g for g in mk["administrationGuidelines"]
                  if g.get("patientCharacteristics", [{}])[0].get("characteristicCodeableConcept", {}).get("text") == "Adults")
    dosage = adults["dosage"][0]["dosage"][0]
    assert dosage["route"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "47625008",
                                            "display": "Intravenous route"}
    assert dosage["timing"]["repeat"] == {"frequency": 2, "frequencyMax": 3, "period": 1, "periodUnit": "d"}
    rate = dosage["doseAndRate"][0]
    assert rate["type"]["text"] == "daily total"
    assert (rate["rateRange"]["low"]["value"], rate["rateRange"]["high"]["value"]) == (0.5, 1)
    assert rate["rateRange"]["low"]["code"] == "g/kg/d"
    assert dosage["maxDosePerPeriod"]["numerator"] == {"value": 1.5, "unit": "g/kg",
                                                       "system": "http://unitsofmeasure.org", "code": "g/kg"}
    assert dosage["maxDosePerPeriod"]["denominator"]["code"] == "d"
    assert dosage["text"].startswith("Intravenous infusion: 0.5 to 1 g/kg/day")


def test_seed_r4_contraindications_monitoring_guidelines(seed_r4):
    mk = by_type(seed_r4, "MedicationKnowledge")[0]
    issues = by_type(seed_r4, "DetectedIssue")
    assert len(issues) == 4
    assert [c["reference"] for c in mk["contraindication"]] == [f"DetectedIssue/{i['id']}" for i in issues]
    assert issues[0]["code"]["coding"][0]["code"] == "COND" and issues[0]["severity"] == "high"
    monitored = {p["name"].lower(): p["type"].get("coding", [{}])[0].get("code") for p in mk["monitoringProgram"]}
    assert monitored == {"renal function": "24362-6", "liver function": "24325-3", "electrolytes": "24326-1",
                         "blood glucose": "2345-7", "fluid balance": None}
    populations = [g["patientCharacteristics"][0]["characteristicCodeableConcept"]["text"]
                   for g in mk["administrationGuidelines"] if "patientCharacteristics" in g]
    for wanted in ("Children", "Elderly Patients", "Patients with Renal Impairment", "Patients with Hepatic Dysfunction"):
        assert wanted in populations
    doc = by_type(seed_r4, "DocumentReference")[0]
    assert doc["content"][0]["attachment"]["contentType"] == "text/markdown"
    assert doc["date"].startswith("2025-09-22T17:21:53.388")
    prov = by_type(seed_r4, "Provenance")[0]
    assert {t["reference"] for t in prov["target"]} == {f"{r['resourceType']}/{r['id']}" for r in seed_r4[:-1]}
    assert prov["entity"][0]["what"]["reference"] == f"DocumentReference/{doc['id']}"


def test_r4_output_has_no_r5_only_elements(seed_r4):
    text = str(seed_r4)
    for r5_only in ("ClinicalUseDefinition", "indicationGuideline", "clinicalUseIssue", "definitional", "concept'"):
        assert r5_only not in text


def test_seed_r5_clinical_use_definitions(seed_r5):
    mk = by_type(seed_r5, "MedicationKnowledge")[0]
    cuds = by_type(seed_r5, "ClinicalUseDefinition")
    kinds = [c["type"] for c in cuds]
    assert kinds.count("contraindication") == 4
    assert kinds.count("undesirable-effect") == 4
    assert "interaction" not in kinds  # "no significant interactions" is a warning, not an interaction
    pregnancy = [c for c in cuds if c.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "Pregnancy"]
    assert len(pregnancy) == 2 and all(c["type"] == "warning" for c in pregnancy)
    for cud in cuds:  # cud-1: one fact per resource
        assert sum(k in cud for k in ("indication", "contraindication", "interaction", "undesirableEffect", "warning")) == 1
        assert "subject" not in cud
    assert mk["name"][0] == "L-alanyl-L-glutamine" and "Dipeptiven" in mk["name"]
    assert mk["definitional"]["intendedRoute"][0]["coding"][0]["code"] == "47625008"
    assert mk["identifier"][0]["value"] == mk["id"]
    dosing = mk["indicationGuideline"][0]["dosingGuideline"][0]
    dosage = dosing["dosage"][0]["dosage"][0]
    assert isinstance(dosage["maxDosePerPeriod"], list) and dosage["maxDosePerPeriod"][0]["numerator"]["value"] == 1.5
    assert dosing["patientCharacteristic"][0]["valueCodeableConcept"]["coding"][0]["code"] == "133936004"
    issue_refs = {r["reference"] for r in mk["clinicalUseIssue"]}
    assert issue_refs == {f"ClinicalUseDefinition/{c['id']}" for c in cuds if c["type"] != "indication"}


def test_banned_drug_is_inactive_with_extension(terminology, tmp_path):
    path = tmp_path / "banned.md"
    path.write_text("---\ntitle: Withdrawn\nis_banned: true\n---\n## Usage\n- Used for pain.\n")
    mk = convert_file(path, "R4", terminology).resources[0]
    assert mk["status"] == "inactive"
    assert {"url": "http://mono2fhir.org/fhir/StructureDefinition/monograph-banned", "valueBoolean": True} in mk["extension"]


def q(value: str, code: str) -> Quantity:
    return Quantity(value=Decimal(value), code=code, unit=code)


SRC = Source(path="t.md", line=1)


def test_merge_steps_folds_timing_and_maximum_into_the_dose_before():
    dose = DosageInstruction(text="0.5 g/kg/day", source=SRC, dose_and_rate=(
        DoseAndRate(kind=DoseKind.RATE, quantity=q("0.5", "g/kg/d")),))
    timing = DosageInstruction(text="twice daily", source=SRC, timing=Timing(frequency=2, period=Decimal(1), period_unit="d"))
    maximum = DosageInstruction(text="max", source=SRC, max_dose_per_period=Ratio(numerator=q("1", "g/kg"), denominator=q("1", "d")))
    merged = merge_steps([dose, timing, maximum])
    assert len(merged) == 1 and merged[0].timing.frequency == 2 and merged[0].max_dose_per_period
    assert merged[0].text == "0.5 g/kg/day twice daily max"


def test_merge_steps_keeps_a_second_timing_apart():
    timed = DosageInstruction(text="500 mg daily", source=SRC, dose_and_rate=(DoseAndRate(kind=DoseKind.DOSE, quantity=q("500", "mg")),),
                              timing=Timing(frequency=1, period=Decimal(1), period_unit="d"))
    other = DosageInstruction(text="twice daily", source=SRC, timing=Timing(frequency=2, period=Decimal(1), period_unit="d"))
    assert len(merge_steps([timed, other])) == 2


@pytest.mark.parametrize(("sentence", "names"), [
    ("Monitor renal and hepatic function, electrolytes, and fluid balance.",
     ["renal function", "hepatic function", "electrolytes", "fluid balance"]),
    ("Monitor fluid and electrolyte balance.", ["fluid balance", "electrolyte balance"]),
    ("Monitor aPTT, anti-Xa and platelet count.", ["aPTT", "anti-Xa", "platelet count"]),
    ("Pay attention to blood glucose levels, especially in diabetic patients.", ["blood glucose levels"]),
    ("Monitor TSH 6 to 8 weeks after any change.", ["TSH"]),
])
def test_split_monitoring_parameters(terminology, sentence, names):
    assert split_parameters(sentence, terminology.patterns) == names


def test_other_layouts_route_labels_plain_classification_monitoring_section(terminology):
    """examples/ciprofloxacin.md: "Dosage and Administration" with bold population and route labels,
    a plain "Pharmacological classification:" line and a "Monitoring" section."""
    conversion = convert_file(SEED.parent / "ciprofloxacin.md", "R4", terminology)
    k = conversion.knowledge
    assert k.classifications == ("Fluoroquinolone antibacterial",)
    populations = [g.population.text if g.population else None for g in k.guidelines]
    assert populations == ["Adults", "Children (1–17 years)", "Renal impairment", None]
    children = k.guidelines[1].population
    assert children.codings[0].code == "410601007"  # coded from the phrase "children" inside the label
    assert k.guidelines[2].population.codings == ()  # no verified code for renal impairment: text only
    iv = k.guidelines[3].groups[0].dosages[0]
    assert iv.route.codings[0].code == "47625008" and iv.timing.period_max == 12
    monitored = {p.concept.text: [c.code for c in p.concept.codings] for p in k.monitoring}
    assert monitored == {"renal function": ["24362-6"], "blood glucose": ["2345-7"]}
    mk = conversion.resources[0]
    assert "patientCharacteristics" not in mk["administrationGuidelines"][3]  # no population stated
