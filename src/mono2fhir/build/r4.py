"""FHIR R4 (4.0.1) resources from ``DrugKnowledge``, modelled with ``fhir.resources.R4B``.

Only elements that exist in R4 4.0.1 are used (R4B's MedicationKnowledge, DetectedIssue, Dosage and
Timing are the same there). R4 has no ClinicalUseDefinition and no CodeableReference: contraindications
become DetectedIssue; pregnancy and breastfeeding become guidelines with a patient characteristic;
side effects, interactions and other warnings live in the narrative (DESIGN.md §3.1).
"""

from __future__ import annotations

from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.medicationknowledge import MedicationKnowledge
from fhir.resources.R4B.provenance import Provenance

from ..model import DoseGroup, DrugKnowledge, FactKind
from . import common
from .common import JSON, concept, source_extension, text_concept

MODELS = {
    "MedicationKnowledge": MedicationKnowledge,
    "DetectedIssue": DetectedIssue,
    "DocumentReference": DocumentReference,
    "Provenance": Provenance,
}


# Where each kind of statement lands (``mono2fhir inspect``); keys are Placement.destination.
DESTINATIONS = {
    "dosage": "MedicationKnowledge.administrationGuidelines.dosage.dosage",
    "indication": "MedicationKnowledge.administrationGuidelines.indicationCodeableConcept",
    "contraindication": "DetectedIssue (from MedicationKnowledge.contraindication)",
    "undesirable-effect": "MedicationKnowledge.text (narrative only in R4)",
    "interaction": "MedicationKnowledge.text (narrative only in R4)",
    "warning": "MedicationKnowledge.text (narrative only in R4)",
    "pregnancy-warning": "MedicationKnowledge.administrationGuidelines (patientCharacteristics + Dosage.text)",
    "monitoring": "MedicationKnowledge.monitoringProgram",
    "synonym": "MedicationKnowledge.synonym",
    "classification": "MedicationKnowledge.medicineClassification",
    "narrative": "MedicationKnowledge.text (narrative) and the DocumentReference",
}


def dosage_groups(groups: tuple[DoseGroup, ...]) -> list[JSON]:
    return [
        {"type": text_concept(g.label), "dosage": [common.dosage(d, max_per_period_as_list=False) for d in g.dosages]}
        for g in groups
    ]


def administration_guidelines(k: DrugKnowledge) -> list[JSON]:
    out: list[JSON] = []
    for g in k.guidelines:
        entry: JSON = {"extension": source_extension(g.source), "dosage": dosage_groups(g.groups)}
        if g.population:
            entry["patientCharacteristics"] = [{"characteristicCodeableConcept": concept(g.population)}]
        out.append(entry)
    for fact in k.facts_of(FactKind.INDICATION):
        entry = {"extension": source_extension(fact.source), "indicationCodeableConcept": text_concept(fact.subject)}
        if fact.dose_text:
            entry["dosage"] = [{"type": text_concept(fact.subject),
                                "dosage": [{"extension": source_extension(fact.source), "text": fact.dose_text}]}]
        out.append(entry)
    for fact in k.facts_of(FactKind.WARNING):
        if fact.population is None:
            continue
        out.append({  # pregnancy / breastfeeding statements: guidance for that population
            "extension": source_extension(fact.source),
            "dosage": [{"type": text_concept(fact.population.text),
                        "dosage": [{"extension": source_extension(fact.source), "text": fact.text}]}],
            "patientCharacteristics": [{"characteristicCodeableConcept": concept(fact.population)}],
        })
    return out


def build_r4(k: DrugKnowledge, context: common.BuildContext) -> list[JSON]:
    """The monograph's resources, MedicationKnowledge first, with ``Type/id`` references."""
    ids = context.ids
    issues = [
        {
            "resourceType": "DetectedIssue",
            "id": ids.contraindication(n),
            "extension": source_extension(fact.source),
            "text": common.short_narrative("Contraindication", fact.text),
            "status": "final",
            "code": context.code("contraindication", "Contraindication"),
            "severity": "high",
            "implicated": [{"reference": f"MedicationKnowledge/{ids.medication}"}],
            "evidence": [{"code": [text_concept(fact.subject)]}],
            "detail": fact.text,
        }
        for n, fact in enumerate(k.facts_of(FactKind.CONTRAINDICATION), start=1)
    ]
    mk: JSON = common.medication_knowledge_head(k, context)
    mk.update(common.drop_empty({
        "synonym": list(k.synonyms),
        "monograph": [common.monograph_link(ids)],
        "intendedRoute": [concept(r) for r in k.routes],
        "monitoringProgram": common.monitoring_programs(k),
        "administrationGuidelines": administration_guidelines(k),
        "medicineClassification": common.classifications(k),
        "contraindication": [{"reference": f"DetectedIssue/{i['id']}"} for i in issues],
    }))
    document = common.document_reference(k, ids.document)
    resources = [mk, *issues, document]
    return resources + [common.provenance(k, context, resources)]
