"""Walk a parsed monograph's sections and assemble ``DrugKnowledge``.

Which section feeds which fact is DESIGN.md §3.1; how a dosing statement becomes structure is
``dose.parse_dosage``. Every item of every section is recorded as a ``Placement`` so that
``mono2fhir inspect`` can show where it went, and nothing is dropped silently: items with no
structured home go to the narrative (and the DocumentReference carries the whole file).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..ids import slug
from ..model import (
    ClinicalFact,
    Concept,
    DoseGroup,
    DosageInstruction,
    DosingGuideline,
    DrugKnowledge,
    FactKind,
    Item,
    MonitoringParameter,
    Monograph,
    Placement,
    Section,
    Source,
    Unmapped,
)
from ..terminology import Terminology
from .dose import parse_dosage
from .monitoring import sentences, split_parameters


# A plain "Label: text" at the start of a bullet ("Brand names: X, Y", "Intravenous infusion: 0.5 g").
PLAIN_LABEL = re.compile(r"^(?P<label>[A-Z][^:]{1,60}):\s+(?P<text>.+)$")
LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*")


class _Collector:
    """Accumulates facts and placements while the sections are walked (one monograph, one use)."""

    def __init__(self, monograph: Monograph, terminology: Terminology):
        self.m = monograph
        self.t = terminology
        self.placements: list[Placement] = []
        self.unmapped: list[Unmapped] = []
        self.facts: list[ClinicalFact] = []

    def src(self, item_or_line: Item | int) -> Source:
        line = item_or_line if isinstance(item_or_line, int) else item_or_line.line
        return self.m.source(line)

    def place(self, item: Item, destination: str, structured: bool = False, detail: str | None = None) -> None:
        self.placements.append(
            Placement(source=self.src(item), text=full_text(item), destination=destination,
                      structured=structured, detail=detail)
        )

    def concept(self, table: str, phrase: str, source: Source) -> Concept:
        concept = getattr(self.t, table).concept(phrase)
        if not concept.codings:
            self.unmapped.append(Unmapped(phrase=phrase, table=table, source=source))
        return concept

    def fact(self, item: Item, kind: FactKind, destination: str, **extra) -> None:
        text = full_text(item)
        subject = extra.pop("subject", None) or item.label or text.rstrip(".")
        self.facts.append(ClinicalFact(kind=kind, text=text, subject=subject, source=self.src(item), **extra))
        self.place(item, destination, structured=True)


def full_text(item: Item) -> str:
    return f"{item.label}: {item.text}" if item.label else item.text


def labelled(item: Item) -> tuple[str | None, str]:
    """(label, text) of a bullet labelled in bold ("**Label:** text") or plainly ("Label: text")."""
    if item.label:
        return item.label, item.text
    m = PLAIN_LABEL.match(item.text)
    return (m.group("label").strip(), m.group("text")) if m else (None, item.text)


def items_of(sections: Iterable[Section]) -> list[Item]:
    return [item for section in sections for s in section.walk() for item in s.items]


# --------------------------------------------------------------------------- sections


def collect_names(c: _Collector) -> tuple[list[str], list[str]]:
    synonyms: list[str] = []
    for item in items_of(c.m.find("alternate_names")):
        m = PLAIN_LABEL.match(full_text(item))
        names = [n for n in LIST_SPLIT.split(m.group("text"))] if m and "name" in m.group("label").lower() else [item.text]
        for name in (n.strip().rstrip(".") for n in names):
            if name and name not in synonyms:
                synonyms.append(name)
        c.place(item, "synonym", structured=True)
    classes: list[str] = []
    for item in items_of(c.m.find("usage")):
        label, text = labelled(item)
        if label and ("classification" in label.lower() or label.lower() == "class"):
            classes.extend(x.strip().rstrip(".") for x in LIST_SPLIT.split(text) if x.strip().rstrip("."))
            c.place(item, "classification", structured=True)
        elif c.t.patterns.matches("indication", item.text):
            c.fact(item, FactKind.INDICATION, "indication")
        else:
            c.place(item, "narrative")
    return synonyms, classes


def band_of(c: _Collector, item: Item, title: str) -> tuple[str, str] | None:
    """(band label, the rest) when the item is labelled with a dosing band such as
    "Children 1–5 years: 5–6 mcg/kg/day" or "CrCl 30–50 mL/min: 500 mg every 12 hours"."""
    if item.label is not None:
        label, rest = item.label, item.text
    else:
        m = PLAIN_LABEL.match(item.text)
        if not m:
            return None
        label, rest = m.group("label").strip(), m.group("text")
    if label != title and c.t.patterns.matches("dose_band", label):
        return label, rest
    return None


def dosage_for(c: _Collector, item: Item, band: tuple[str, str] | None) -> list[DosageInstruction]:
    """Dosages of one item. For a band only the text after the label is parsed, so the band's own
    numbers (ages, weights, CrCl) never become doses; Dosage.text keeps the whole statement."""
    if band:
        text = band[1]
    else:
        text = item.text if item.label else full_text(item)
    whole = full_text(item)
    return [d.model_copy(update={"text": whole}) for d in parse_dosage(text, c.src(item), c.t)]


def merge_steps(dosages: list[DosageInstruction]) -> list[DosageInstruction]:
    """Fold statements that only qualify the dose before them into it.

    Monographs write one dose as several bullets ("0.5 to 1 g/kg/day" / "divided into two to three
    infusions per day" / "should not exceed 1.5 g/kg/day"). A statement with timing or a maximum but
    no amount joins the single dose before it when that dose lacks that part; otherwise it stays a
    Dosage of its own.
    """
    merged: list[DosageInstruction] = []
    for d in dosages:
        prev = merged[-1] if merged else None
        qualifier_only = not d.dose_and_rate and d.is_structured()
        if prev is not None and qualifier_only and prev.dose_and_rate and prev.sequence is None and d.sequence is None:
            clash = (d.timing and prev.timing) or (d.max_dose_per_period and prev.max_dose_per_period) or (
                d.max_dose_per_administration and prev.max_dose_per_administration)
            if not clash:
                merged[-1] = prev.model_copy(update={
                    "text": f"{prev.text} {d.text}",
                    "timing": prev.timing or d.timing,
                    "max_dose_per_period": prev.max_dose_per_period or d.max_dose_per_period,
                    "max_dose_per_administration": prev.max_dose_per_administration or d.max_dose_per_administration,
                    "route": prev.route or d.route,
                })
                continue
        merged.append(d)
    return merged


def guideline(c: _Collector, title: str, line: int, items: list[Item], population: bool = True) -> DosingGuideline:
    """Dosing under one heading or label. ``population`` False: the heading is a generic dosing
    section ("Dosage", "Special Cases"), which says nothing about the patients."""
    groups: dict[str, list[DosageInstruction]] = {}
    for item in items:
        band = band_of(c, item, title)
        label = band[0] if band else title
        dosages = dosage_for(c, item, band)
        groups.setdefault(label, []).extend(dosages)
        c.place(item, "dosage", structured=any(d.is_structured() for d in dosages), detail=label)
    return DosingGuideline(
        population=population_concept(c, title, c.src(line)) if population else None,
        source=c.src(line),
        groups=tuple(DoseGroup(label=label, dosages=tuple(merge_steps(ds))) for label, ds in groups.items()),
    )


def population_concept(c: _Collector, label: str, source: Source) -> Concept:
    """The label as text, coded by the populations table: the whole label, else the first population
    phrase in it ("Children (1–17 years)" is coded as children)."""
    if c.t.populations.lookup(label) is None:
        found = c.t.populations.find_in(label)
        if found:
            return c.t.populations.concept(found[0][0], text=label)
    return c.concept("populations", label, source)


def population_blocks(items: tuple[Item, ...], is_route: Callable[[str], bool]
                      ) -> tuple[list[tuple[Item, list[Item]]], list[Item]]:
    """Split a Special Cases list into labelled population blocks ("**Elderly Patients**: ...",
    with the bullets nested under it) and the rest. A label that names a route ("**Intravenous:**
    400 mg") is part of the dose, not a population."""
    blocks: list[tuple[Item, list[Item]]] = []
    rest: list[Item] = []
    for item in items:
        if blocks and item.depth > blocks[-1][0].depth:
            blocks[-1][1].append(item)
        elif item.label and not is_route(item.label):
            blocks.append((item, [item.model_copy(update={"label": None})]))
        else:
            rest.append(item)
    return blocks, rest


def collect_guidelines(c: _Collector) -> list[DosingGuideline]:
    guidelines: list[DosingGuideline] = []
    for dosage in c.m.find("dosage"):
        for section in dosage.walk():
            if section.key == "clinical_use_cases":
                for item in section.items:
                    c.fact(item, FactKind.INDICATION, "indication", subject=item.label or item.text,
                           dose_text=item.text if item.label else None)
            elif section.key == "dosage_adjustments":
                for item in section.items:
                    c.fact(item, FactKind.WARNING, "warning", category=c.t.cud_categories.concept("Dosage adjustment"))
            elif section.key in ("special_cases", "dosage", "standard_dosage"):
                blocks, rest = population_blocks(section.items, lambda label: c.t.routes.lookup(label) is not None)
                for head, items in blocks:
                    guidelines.append(guideline(c, head.label or section.title, head.line, items))
                    # the placement shows the statement as written, label included
                    first = next(i for i, p in enumerate(c.placements) if p.source.line == head.line)
                    c.placements[first] = c.placements[first].model_copy(update={"text": full_text(head)})
                if rest:
                    guidelines.append(guideline(c, section.title, section.line, rest, population=False))
            elif section.items:
                guidelines.append(guideline(c, section.title, section.line, list(section.items)))
    return guidelines


def collect_facts(c: _Collector) -> None:
    for item in items_of(c.m.find("contraindications")):
        c.fact(item, FactKind.CONTRAINDICATION, "contraindication")
    for key, frequency in (("common_side_effects", "Common"), ("rare_side_effects", "Rare")):
        for item in items_of(c.m.find(key)):
            c.fact(item, FactKind.UNDESIRABLE_EFFECT, "undesirable-effect", frequency=frequency)
    for side in c.m.find("side_effects"):
        for item in side.items:  # side effects without a common/rare subsection
            c.fact(item, FactKind.UNDESIRABLE_EFFECT, "undesirable-effect")
    for item in items_of(c.m.find("interactions")):
        if c.t.patterns.matches("no_interactions", full_text(item)):
            c.fact(item, FactKind.WARNING, "warning", category=c.t.cud_categories.concept("Interactions"))
        else:
            c.fact(item, FactKind.INTERACTION, "interaction")
    for item in items_of(c.m.find("pregnancy")):
        topic = "Breastfeeding" if c.t.patterns.matches("breastfeeding", full_text(item)) else "Pregnancy"
        c.fact(item, FactKind.WARNING, "pregnancy-warning", category=c.t.cud_categories.concept(topic),
               population=c.concept("populations", topic, c.src(item)))
    for item in items_of(c.m.find("precautions")):
        c.fact(item, FactKind.WARNING, "warning", category=c.t.cud_categories.concept("Precaution"))


def collect_monitoring(c: _Collector) -> list[MonitoringParameter]:
    """From the summary's "Monitoring Parameters:", sentences asking to monitor (precautions,
    dosing, FAQ answers); de-duplicated by code, or by name when uncoded."""
    statements: list[tuple[str, Source]] = []
    for item in items_of(c.m.find("summary")):
        if item.label and "monitor" in item.label.lower():
            statements.append((item.text, c.src(item)))
            c.place(item, "monitoring", structured=True)
    for item in items_of(c.m.find("monitoring")):  # a section of its own: every item is a parameter list
        statements.append((labelled(item)[1], c.src(item)))
        c.place(item, "monitoring", structured=True)
    for item in items_of(c.m.find("precautions")) + items_of(c.m.find("dosage")):
        for sentence in sentences(item.text):
            if c.t.patterns.matches("monitoring", sentence):
                statements.append((sentence, c.src(item)))
    for faq in c.m.faqs:
        for sentence in sentences(faq.answer):
            if c.t.patterns.matches("monitoring", sentence):
                statements.append((sentence, c.src(faq.line)))
    seen: set[str] = set()
    result: list[MonitoringParameter] = []
    for text, source in statements:
        for name in split_parameters(text, c.t.patterns):
            concept = c.t.monitoring.concept(name)
            key = concept.codings[0].code if concept.codings else name.lower()
            if key in seen:
                continue
            seen.add(key)
            if not concept.codings:
                c.unmapped.append(Unmapped(phrase=name, table="monitoring", source=source))
            result.append(MonitoringParameter(concept=concept, source=source))
    return result


def collect_narrative_only(c: _Collector) -> None:
    """Record every item not placed yet: it lands in the narrative and the DocumentReference."""
    placed = {(p.source.line, p.text) for p in c.placements}
    for section in c.m.sections:
        for s in section.walk():
            for item in s.items:
                if (item.line, full_text(item)) not in placed:
                    c.place(item, "narrative", detail=s.title)


def extract_knowledge(monograph: Monograph, terminology: Terminology) -> DrugKnowledge:
    c = _Collector(monograph, terminology)
    synonyms, classes = collect_names(c)
    guidelines = collect_guidelines(c)
    collect_facts(c)
    monitoring = collect_monitoring(c)
    collect_narrative_only(c)

    routes: dict[str, Concept] = {}
    for g in guidelines:
        for group in g.groups:
            for d in group.dosages:
                if d.route and d.route.codings:
                    routes.setdefault(d.route.codings[0].code, d.route)
    code = c.concept("drugs", monograph.title, monograph.source(monograph.title_line))
    return DrugKnowledge(
        monograph=monograph,
        slug=slug(monograph.title),
        code=code,
        synonyms=tuple(synonyms),
        classifications=tuple(classes),
        routes=tuple(routes.values()),
        guidelines=tuple(guidelines),
        facts=tuple(c.facts),
        monitoring=tuple(monitoring),
        placements=tuple(sorted(c.placements, key=lambda p: p.source.line)),
        unmapped=tuple(c.unmapped),
    )
