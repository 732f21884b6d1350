"""Clinical fidelity over the whole pipeline: every number in a structured Quantity, Range, Ratio or
Timing of a Dosage appears in that Dosage's source text, and every code comes from mappings/.

Checked on every example in both FHIR versions, and on generated monographs (hypothesis).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from helpers import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mono2fhir.convert import convert_file, convert_monograph

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
WORDS = {"once": 1, "twice": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
         "bid": 2, "b.i.d": 2, "tid": 3, "t.i.d": 3, "qid": 4, "q.i.d": 4}
# "every 8 hours" is frequency 1; "daily", "per day", "weekly", "/day" give the implied period 1.
IMPLIED_ONE = re.compile(r"\b(every|once|daily|day|days|weekly|week|hour|hourly|per|a)\b|/|q\d", re.IGNORECASE)


def numbers_in_text(text: str) -> set[Decimal]:
    found = {Decimal(m.replace(",", "")) for m in NUMBER.findall(text)}
    lowered = text.lower()
    found |= {Decimal(v) for w, v in WORDS.items() if re.search(rf"\b{re.escape(w)}\b", lowered)}
    if IMPLIED_ONE.search(text):
        found.add(Decimal(1))
    return found


def quantities(value, path=""):
    """(path, number) of every value in a Quantity/Range/Ratio/Timing inside a Dosage."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("value", "frequency", "frequencyMax", "period", "periodMax") and isinstance(item, (int, float)):
                yield f"{path}.{key}", Decimal(str(item))
            elif key not in ("extension", "text", "route", "type", "additionalInstruction"):
                yield from quantities(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from quantities(item, f"{path}[{i}]")


def dosages(resource, path="$"):
    if isinstance(resource, dict):
        if "text" in resource and ("doseAndRate" in resource or "timing" in resource or "maxDosePerPeriod" in resource
                                   or "maxDosePerAdministration" in resource):
            yield path, resource
        for key, item in resource.items():
            yield from dosages(item, f"{path}.{key}")
    elif isinstance(resource, list):
        for i, item in enumerate(resource):
            yield from dosages(item, f"{path}[{i}]")


def assert_numbers_from_source(resources):
    checked = 0
    for resource in resources:
        for where, dosage in dosages(resource):
            allowed = numbers_in_text(dosage["text"])
            for path, number in quantities(dosage):
                checked += 1
                assert number in allowed, f"{resource['id']} {where}{path} = {number} is not in {dosage['text']!r}"
    return checked


def assert_codes_from_mappings(resources, terminology):
    known = terminology.known_codings

    def walk(value):
        if isinstance(value, dict):
            if "system" in value and "code" in value and value.get("system") != "http://unitsofmeasure.org":
                assert (value["system"], value["code"]) in known, value
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resources)


EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".md", ".txt"))


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_examples_numbers_and_codes(terminology, version):
    checked = 0
    for path in EXAMPLE_FILES:
        resources = convert_file(path, version, terminology).resources
        checked += assert_numbers_from_source(resources)
        assert_codes_from_mappings(resources, terminology)
    assert checked > 100  # the examples do carry structured doses


def test_the_check_catches_an_invented_number(terminology):
    resources = convert_file(EXAMPLE_FILES[0], "R4", terminology).resources
    dosage = next(d for _, d in dosages(resources[0]) if "doseAndRate" in d)
    dosage["doseAndRate"][0]["rateRange"]["high"]["value"] = 7.25
    with pytest.raises(AssertionError, match="7.25"):
        assert_numbers_from_source(resources)


AMOUNTS = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("5000"), places=2).map(lambda d: d.normalize())
UNITS = st.sampled_from(["mg", "g", "mcg", "µg", "units", "IU", "mg/kg", "mg/kg/day", "g/kg/day", "units/kg/hour", "mL"])
FREQUENCIES = st.sampled_from(["", " twice daily", " once daily", " every 8 hours", " every 8 to 12 hours",
                               " three times daily", " once weekly", " in two to three divided doses per day"])
DURATIONS = st.sampled_from(["", " for 7 days", " for 10 to 14 days", " for 8 weeks"])
ROUTES = st.sampled_from(["", "Orally: ", "Intravenous infusion: ", "IV bolus: ", "Subcutaneously: ", "IM: "])


def fmt(d: Decimal) -> str:
    text = format(d, "f")
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


@st.composite
def dose_sentences(draw):
    low = draw(AMOUNTS)
    ranged = draw(st.booleans())
    high = low + draw(AMOUNTS) if ranged else None
    amount = f"{fmt(low)} to {fmt(high)}" if high else fmt(low)
    sentence = f"{draw(ROUTES)}{amount} {draw(UNITS)}{draw(FREQUENCIES)}{draw(DURATIONS)}."
    if draw(st.booleans()):
        sentence += f" Should not exceed {fmt(draw(AMOUNTS))} mg/day."
    return sentence


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences=st.lists(dose_sentences(), min_size=1, max_size=4))
def test_generated_monographs_never_invent_numbers(terminology, sentences):
    body = "\n".join(f"- {s}" for s in sentences)
    text = f"---\ntitle: Generated\n---\n## Dosage\n### Standard Dosage\n#### Adults\n{body}\n"
    for version in ("R4", "R5"):
        conversion = convert_monograph("generated.md", text.encode(), version, terminology)
        assert_numbers_from_source(conversion.resources)
        assert_codes_from_mappings(conversion.resources, terminology)
