"""Typed models that carry a monograph through the pipeline.

parse   -> ``Monograph`` (sections, bullets, FAQs, each with its source line)
extract -> ``DrugKnowledge`` (structured dosing, facts, monitoring; every item keeps its ``Source``)
build   -> FHIR resources (see ``mono2fhir.build``)

Numbers are ``Decimal`` parsed from the source text so that what is written out is exactly what was
read ("0.5" stays 0.5, "1" stays 1): clinical fidelity forbids float round-trips.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- parse


class Source(Model):
    """Where a statement came from: the monograph's display path and 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class Item(Model):
    """One bullet, table row or paragraph of a section."""

    text: str  # Markdown emphasis removed, whitespace collapsed, label removed
    label: str | None = None  # "Pharmacodynamics" in "- **Pharmacodynamics:** ..."
    line: int
    depth: int = 0  # 0 for a top-level bullet, 1 for a bullet nested under it, ...


class Section(Model):
    """A heading and what stands under it. ``key`` is the canonical name from mappings/sections.yaml
    ("other" when no synonym matched), ``title`` the heading as written."""

    key: str
    title: str
    level: int
    line: int
    items: tuple[Item, ...] = ()
    subsections: tuple["Section", ...] = ()

    def walk(self):
        """This section and all subsections, depth first."""
        yield self
        for sub in self.subsections:
            yield from sub.walk()


class Faq(Model):
    question: str
    answer: str
    line: int


class Monograph(Model):
    path: str  # display path (as given on the command line)
    sha256: str
    raw: bytes = Field(repr=False)  # the file's bytes, for the DocumentReference
    title: str
    title_line: int
    description: str | None = None
    is_banned: bool = False
    last_modified: datetime | None = None
    faqs: tuple[Faq, ...] = ()
    sections: tuple[Section, ...] = ()

    def source(self, line: int) -> Source:
        return Source(path=self.path, line=line)

    def find(self, key: str) -> list[Section]:
        """Every section or subsection with this canonical key, in document order."""
        return [s for top in self.sections for s in top.walk() if s.key == key]


# --------------------------------------------------------------------------- terminology


class Coding(Model):
    system: str
    code: str
    display: str | None = None


class Concept(Model):
    """A CodeableConcept: always text; codings only from mappings/."""

    text: str
    codings: tuple[Coding, ...] = ()


# --------------------------------------------------------------------------- extract


class Quantity(Model):
    """A UCUM quantity. ``code`` is the UCUM code, ``unit`` the human unit."""

    value: Decimal
    code: str
    unit: str


class QuantityRange(Model):
    low: Quantity
    high: Quantity


class Ratio(Model):
    numerator: Quantity
    denominator: Quantity


PeriodUnit = Literal["s", "min", "h", "d", "wk", "mo", "a"]


class Timing(Model):
    """Timing.repeat: frequency [frequencyMax] per period [periodMax] periodUnit, and bounds."""

    frequency: int | None = None
    frequency_max: int | None = None
    period: Decimal | None = None
    period_max: Decimal | None = None
    period_unit: PeriodUnit | None = None
    bounds_duration: Quantity | None = None
    bounds_range: QuantityRange | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


class DoseKind(str, Enum):
    DOSE = "dose"  # amount per administration -> doseQuantity / doseRange
    RATE = "rate"  # daily total or infusion rate -> rateQuantity / rateRange


class DoseAndRate(Model):
    kind: DoseKind
    type_text: str | None = None  # "daily total", "infusion rate"
    quantity: Quantity | None = None
    range: QuantityRange | None = None


class DosageInstruction(Model):
    """One FHIR Dosage. ``text`` is always the source sentence(s)."""

    text: str
    source: Source
    sequence: int | None = None
    route: Concept | None = None
    timing: Timing | None = None
    dose_and_rate: tuple[DoseAndRate, ...] = ()
    max_dose_per_period: Ratio | None = None
    max_dose_per_administration: Quantity | None = None
    additional_instructions: tuple[str, ...] = ()

    def is_structured(self) -> bool:
        return bool(
            self.timing or self.dose_and_rate or self.max_dose_per_period or self.max_dose_per_administration
        )


class DoseGroup(Model):
    """Dosages under one label: FHIR ``administrationGuidelines.dosage`` {type.text, dosage[]}.
    The label is the population heading or a band within it ("Children 3 months to 12 years",
    "CrCl 30–50 mL/min")."""

    label: str
    dosages: tuple[DosageInstruction, ...]


class DosingGuideline(Model):
    """Dosing for one patient population (adults, children, elderly, renal impairment, ...)."""

    population: Concept | None  # text as written, coded only from mappings/populations.yaml; None: not stated
    source: Source
    groups: tuple[DoseGroup, ...]


class FactKind(str, Enum):
    """ClinicalUseDefinition.type codes (http://hl7.org/fhir/clinical-use-definition-type)."""

    CONTRAINDICATION = "contraindication"
    UNDESIRABLE_EFFECT = "undesirable-effect"
    INTERACTION = "interaction"
    WARNING = "warning"
    INDICATION = "indication"


class ClinicalFact(Model):
    """One statement that becomes a DetectedIssue (R4 contraindications) or a ClinicalUseDefinition (R5)."""

    kind: FactKind
    text: str  # the statement as written
    subject: str  # the condition, effect, interactant or warning topic (the text before ':' or the statement)
    source: Source
    frequency: Literal["Common", "Rare"] | None = None  # undesirable effects
    category: Concept | None = None  # warnings: Pregnancy, Breastfeeding, Precaution, Dosage adjustment
    population: Concept | None = None  # pregnancy/breastfeeding: the coded population (R4 guideline)
    dose_text: str | None = None  # indications from clinical use cases: "Standard dose."


class MonitoringParameter(Model):
    concept: Concept  # text = the parameter as written; LOINC coding when mapped
    source: Source


class Placement(Model):
    """Where one source item went, for ``mono2fhir inspect``."""

    source: Source
    text: str
    destination: str  # a version-neutral destination key, see build.DESTINATIONS
    structured: bool = False
    detail: str | None = None


class Unmapped(Model):
    phrase: str
    table: str
    source: Source


class DrugKnowledge(Model):
    """Everything extracted from one monograph, ready for a builder of any FHIR version."""

    monograph: Monograph
    slug: str
    code: Concept
    synonyms: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    routes: tuple[Concept, ...] = ()
    guidelines: tuple[DosingGuideline, ...] = ()
    facts: tuple[ClinicalFact, ...] = ()
    monitoring: tuple[MonitoringParameter, ...] = ()
    placements: tuple[Placement, ...] = ()
    unmapped: tuple[Unmapped, ...] = ()

    def facts_of(self, kind: FactKind) -> list[ClinicalFact]:
        return [f for f in self.facts if f.kind is kind]
