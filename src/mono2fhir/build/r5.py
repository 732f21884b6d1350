"""FHIR R5 (5.0.0) resources from ``DrugKnowledge``, modelled with ``fhir.resources``.

R5 moves clinical statements into ClinicalUseDefinition: one per contraindication, undesirable
effect, interaction, warning and indication (one fact each: invariant cud-1).
MedicationKnowledge links to them through ``clinicalUseIssue`` and ``indicationGuideline.indication``;
CUD.subject stays empty because it may not point to a MedicationKnowledge (DESIGN.md §3.1).
"""

from __future__ import annotations

from fhir.resources.clinicalusedefinition import ClinicalUseDefinition
from fhir.resources.documentreference import DocumentReference
from fhir.resources.medicationknowledge import MedicationKnowledge
from fhir.resources.provenance import Provenance

from ..model import ClinicalFact, DoseGroup, DrugKnowledge, FactKind
from . import common
from .common import JSON, concept, source_extension, text_concept

MODELS = {
    "MedicationKnowledge": MedicationKnowledge,
    "ClinicalUseDefinition": ClinicalUseDefinition,
    "DocumentReference": DocumentReference,
    "Provenance": Provenance,
}

POPULATION = text_concept("Patient population")

# Where each kind of statement lands (``mono2fhir inspect``); keys are Placement.destination.
DESTINATIONS = {
    "dosage": "MedicationKnowledge.indicationGuideline.dosingGuideline.dosage.dosage",
    "indication": "ClinicalUseDefinition type=indication (MedicationKnowledge.indicationGuideline.indication)",
    "contraindication": "ClinicalUseDefinition type=contraindication",
    "undesirable-effect": "ClinicalUseDefinition type=undesirable-effect",
    "interaction": "ClinicalUseDefinition type=interaction",
    "warning": "ClinicalUseDefinition type=warning",
    "pregnancy-warning": "ClinicalUseDefinition type=warning, category Pregnancy",
    "monitoring": "MedicationKnowledge.monitoringProgram",
    "synonym": "MedicationKnowledge.name",
    "classification": "MedicationKnowledge.medicineClassification",
    "narrative": "MedicationKnowledge.text (narrative) and the DocumentReference",
}


def cud_body(fact: ClinicalFact, context: common.BuildContext) -> JSON:
    """The one backbone element that carries the fact, by kind."""
    subject = {"concept": text_concept(fact.subject)}
    if fact.kind is FactKind.CONTRAINDICATION:
        return {"contraindication": {"diseaseSymptomProcedure": subject}}
    if fact.kind is FactKind.INDICATION:
        return {"indication": {"diseaseSymptomProcedure": subject}}
    if fact.kind is FactKind.INTERACTION:
        return {"interaction": {"interactant": [{"itemCodeableConcept": text_concept(fact.subject)}],
                                "effect": {"concept": text_concept(fact.text)}}}
    if fact.kind is FactKind.UNDESIRABLE_EFFECT:
        effect: JSON = {"symptomConditionEffect": subject}
        if fact.frequency:
            effect["frequencyOfOccurrence"] = context.code(fact.frequency)
        return {"undesirableEffect": effect}
    return {"warning": {"description": fact.text}}


def clinical_use_definitions(k: DrugKnowledge, context: common.BuildContext) -> list[JSON]:
    out: list[JSON] = []
    counters: dict[str, int] = {}
    for fact in k.facts:
        kind = fact.kind.value
        counters[kind] = counters.get(kind, 0) + 1
        cud: JSON = {
            "resourceType": "ClinicalUseDefinition",
            "id": context.ids.clinical_use(kind, counters[kind]),
            "extension": source_extension(fact.source),
            "text": common.short_narrative(kind.replace("-", " ").capitalize(), fact.text),
            "type": kind,
        }
        if fact.category:
            cud["category"] = [concept(fact.category)]
        cud.update(cud_body(fact, context))
        out.append(cud)
    return out


def dosage_groups(groups: tuple[DoseGroup, ...]) -> list[JSON]:
    return [
        {"type": text_concept(g.label), "dosage": [common.dosage(d, max_per_period_as_list=True) for d in g.dosages]}
        for g in groups
    ]


def indication_guidelines(k: DrugKnowledge, cuds: list[JSON]) -> list[JSON]:
    indications = [(c, f) for c, f in zip(cuds, k.facts, strict=True) if f.kind is FactKind.INDICATION]
    general = [c for c, f in indications if not f.dose_text]
    out: list[JSON] = []
    dosing = [
        common.drop_empty({
            "extension": source_extension(g.source), "dosage": dosage_groups(g.groups),
            "patientCharacteristic": [{"type": POPULATION, "valueCodeableConcept": concept(g.population)}]
            if g.population else None})
        for g in k.guidelines
    ]
    if general or dosing:
        out.append(common.drop_empty({
            "indication": [{"reference": {"reference": f"ClinicalUseDefinition/{c['id']}"}} for c in general],
            "dosingGuideline": dosing,
        }))
    for cud, fact in indications:
        if fact.dose_text:
            out.append({
                "indication": [{"reference": {"reference": f"ClinicalUseDefinition/{cud['id']}"}}],
                "dosingGuideline": [{"extension": source_extension(fact.source), "dosage": [{
                    "type": text_concept(fact.subject),
                    "dosage": [{"extension": source_extension(fact.source), "text": fact.dose_text}]}]}],
            })
    return out


def build_r5(k: DrugKnowledge, context: common.BuildContext) -> list[JSON]:
    """The monograph's resources, MedicationKnowledge first, with ``Type/id`` references."""
    ids = context.ids
    cuds = clinical_use_definitions(k, context)
    names = [k.monograph.title] + [n for n in k.synonyms if n != k.monograph.title]
    mk: JSON = common.medication_knowledge_head(k, context)
    mk.update(common.drop_empty({
        "identifier": [{"system": context.identifier_system, "value": ids.medication}],
        "name": names,
        "monograph": [common.monograph_link(ids)],
        "monitoringProgram": common.monitoring_programs(k),
        "indicationGuideline": indication_guidelines(k, cuds),
        "medicineClassification": common.classifications(k),
        "clinicalUseIssue": [{"reference": f"ClinicalUseDefinition/{c['id']}"}
                             for c in cuds if c["type"] != FactKind.INDICATION.value],
        "definitional": {"intendedRoute": [concept(r) for r in k.routes]} if k.routes else None,
    }))
    document = common.document_reference(k, ids.document)
    resources = [mk, *cuds, document]
    return resources + [common.provenance(k, context, resources)]
