"""Pieces both FHIR versions share: datatypes (Quantity, Timing, Dosage), concepts, the narrative,
the DocumentReference and Provenance shapes.

Builders assemble plain JSON-shaped values here and validate them into fhir.resources models at the
end (``r4.py``/``r5.py``), so what is written is exactly what the models accept.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime, timezone
from html import escape
from typing import Any

from .. import __version__
from ..canonical import BASE, EXT_BANNED, EXT_SOURCE, IDENTIFIER_SYSTEM
from ..ids import ResourceIds
from ..terminology import Terminology
from ..model import (
    Concept,
    DosageInstruction,
    DrugKnowledge,
    Monograph,
    Quantity,
    QuantityRange,
    Ratio,
    Section,
    Source,
    Timing,
)

UCUM = "http://unitsofmeasure.org"
XHTML = "http://www.w3.org/1999/xhtml"

JSON = dict[str, Any]


def concept(c: Concept) -> JSON:
    out: JSON = {}
    if c.codings:
        out["coding"] = [
            {k: v for k, v in (("system", x.system), ("code", x.code), ("display", x.display)) if v}
            for x in c.codings
        ]
    out["text"] = c.text
    return out


def text_concept(text: str) -> JSON:
    return {"text": text}


def quantity(q: Quantity) -> JSON:
    return {"value": q.value, "unit": q.unit, "system": UCUM, "code": q.code}


def quantity_range(r: QuantityRange) -> JSON:
    return {"low": quantity(r.low), "high": quantity(r.high)}


def ratio(r: Ratio) -> JSON:
    return {"numerator": quantity(r.numerator), "denominator": quantity(r.denominator)}


def timing(t: Timing) -> JSON:
    repeat: JSON = {}
    if t.bounds_duration:
        repeat["boundsDuration"] = quantity(t.bounds_duration)
    if t.bounds_range:
        repeat["boundsRange"] = quantity_range(t.bounds_range)
    for key, value in (("frequency", t.frequency), ("frequencyMax", t.frequency_max), ("period", t.period),
                       ("periodMax", t.period_max), ("periodUnit", t.period_unit)):
        if value is not None:
            repeat[key] = value
    return {"repeat": repeat}


def source_extension(source: Source) -> list[JSON]:
    """The monograph file:line a resource or element came from (see canonical.EXT_SOURCE)."""
    return [{"url": EXT_SOURCE, "valueString": str(source)}]


def dosage(d: DosageInstruction, max_per_period_as_list: bool) -> JSON:
    out: JSON = {"extension": source_extension(d.source)}
    if d.sequence is not None:
        out["sequence"] = d.sequence
    out["text"] = d.text
    if d.additional_instructions:
        out["additionalInstruction"] = [text_concept(t) for t in d.additional_instructions]
    if d.timing and not d.timing.is_empty():
        out["timing"] = timing(d.timing)
    if d.route:
        out["route"] = concept(d.route)
    rates = []
    for dr in d.dose_and_rate:
        entry: JSON = {}
        if dr.type_text:
            entry["type"] = text_concept(dr.type_text)
        prefix = "dose" if dr.kind.value == "dose" else "rate"
        if dr.range:
            entry[f"{prefix}Range"] = quantity_range(dr.range)
        elif dr.quantity:
            entry[f"{prefix}Quantity"] = quantity(dr.quantity)
        rates.append(entry)
    if rates:
        out["doseAndRate"] = rates
    if d.max_dose_per_period:
        value = ratio(d.max_dose_per_period)
        out["maxDosePerPeriod"] = [value] if max_per_period_as_list else value
    if d.max_dose_per_administration:
        out["maxDosePerAdministration"] = quantity(d.max_dose_per_administration)
    return out


# --------------------------------------------------------------------------- dates


def recorded_at(monograph: Monograph) -> str:
    """A deterministic timestamp: the monograph's lastModified, else SOURCE_DATE_EPOCH, else now.

    Same input, same bytes out: the clock is only read when the monograph gives no date and the
    caller did not pin one.
    """
    when = monograph.last_modified
    if when is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return instant(when)


def instant(when: datetime) -> str:
    text = when.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


# --------------------------------------------------------------------------- narrative


def div(body: str) -> JSON:
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _section_html(section: Section, level: int) -> str:
    h = min(level + 1, 6)
    parts = [f"<h{h}>{escape(section.title)}</h{h}>"]
    if section.items:
        lis = "".join(
            f"<li>{'<b>' + escape(i.label) + ':</b> ' if i.label else ''}{escape(i.text)}</li>" for i in section.items
        )
        parts.append(f"<ul>{lis}</ul>")
    parts.extend(_section_html(s, level + 1) for s in section.subsections)
    return "".join(parts)


def monograph_narrative(k: DrugKnowledge) -> JSON:
    """A readable XHTML summary of every section: each source statement is visible here."""
    m = k.monograph
    parts = [f"<h2>{escape(m.title)}</h2>"]
    if m.is_banned:
        parts.append("<p><b>Status:</b> banned / withdrawn</p>")
    if m.description:
        parts.append(f"<p>{escape(m.description)}</p>")
    parts.extend(_section_html(s, 2) for s in m.sections if s.key != "faqs" or not m.faqs)
    if m.faqs:
        qa = "".join(f"<li><b>{escape(f.question)}</b> {escape(f.answer)}</li>" for f in m.faqs)
        parts.append(f"<h3>FAQs</h3><ul>{qa}</ul>")
    return div("".join(parts))


def short_narrative(title: str, text: str) -> JSON:
    return div(f"<p><b>{escape(title)}:</b> {escape(text)}</p>")


# --------------------------------------------------------------------------- shared resources


def document_reference(k: DrugKnowledge, doc_id: str) -> JSON:
    m = k.monograph
    attachment: JSON = {
        "contentType": "text/markdown",
        "data": base64.b64encode(m.raw).decode("ascii"),
        "title": m.path,
    }
    # Attachment.hash must be SHA-1; the file's sha256 goes in the identifier instead.
    out: JSON = {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "text": short_narrative("Source monograph", f"{m.title} ({m.path})"),
        "identifier": [{"system": f"{BASE}/sha256", "value": m.sha256}],
        "status": "current",
        "type": text_concept("Drug monograph"),
        "description": m.description or m.title,
        "content": [{"attachment": attachment}],
    }
    if m.last_modified:
        out["date"] = instant(m.last_modified)
    return out


def provenance(k: DrugKnowledge, context: BuildContext, resources: list[JSON]) -> JSON:
    ids = context.ids
    return {
        "resourceType": "Provenance",
        "id": ids.provenance,
        "text": short_narrative("Provenance", f"Generated by mono2fhir {__version__} from {k.monograph.path}"),
        "target": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources],
        "recorded": recorded_at(k.monograph),
        "agent": [{
            "type": context.code("assembler", "Assembler"),
            "who": {"identifier": {"system": f"{BASE}/tool", "value": f"mono2fhir {__version__}"},
                    "display": f"mono2fhir {__version__}"},
        }],
        "entity": [{"role": "source", "what": {"reference": f"DocumentReference/{ids.document}"}}],
    }


class BuildContext:
    """What a builder needs besides the knowledge: ids, and the codes mono2fhir assigns itself (from
    mappings/fhir_codes.yaml, like every other code)."""

    def __init__(self, k: DrugKnowledge, terminology: Terminology, identifier_system: str = IDENTIFIER_SYSTEM):
        self.ids = ResourceIds(k.slug)
        self.identifier_system = identifier_system
        self.codes = terminology.fhir_codes

    def code(self, phrase: str, text: str | None = None) -> JSON:
        return concept(self.codes.concept(phrase, text))


def drop_empty(values: JSON) -> JSON:
    return {key: value for key, value in values.items() if value not in (None, [], {}, "")}


def medication_knowledge_head(k: DrugKnowledge, context: BuildContext) -> JSON:
    """id, extensions, narrative, code and status: the same in R4 and R5."""
    m = k.monograph
    extensions = source_extension(m.source(m.title_line))
    if m.is_banned:
        extensions.append({"url": EXT_BANNED, "valueBoolean": True})
    return {
        "resourceType": "MedicationKnowledge",
        "id": context.ids.medication,
        "text": monograph_narrative(k),
        "extension": extensions,
        "code": concept(k.code),
        "status": "inactive" if m.is_banned else "active",
    }


def monograph_link(ids: ResourceIds) -> JSON:
    return {"type": text_concept("Drug monograph (source)"), "source": {"reference": f"DocumentReference/{ids.document}"}}


def monitoring_programs(k: DrugKnowledge) -> list[JSON]:
    return [
        {"extension": source_extension(p.source), "type": concept(p.concept), "name": p.concept.text}
        for p in k.monitoring
    ]


def classifications(k: DrugKnowledge) -> list[JSON]:
    if not k.classifications:
        return []
    return [{"type": text_concept("Pharmacological classification"),
             "classification": [text_concept(c) for c in k.classifications]}]
