"""Clinical sanity layer: is a structured dose coherent with itself and with its source sentence?

Rules (all on mono2fhir's Dosage encodings, DESIGN §3.2):
- ``sanity-low-high``: a Range whose low and high are in different units has low <= high after
  UCUM conversion (one unit is rng-2's case; fhirpathpy cannot compare two units);
- ``sanity-dose-above-max``: a dose per administration (doseQuantity, doseRange.high) is not above
  maxDosePerAdministration, nor above the maxDosePerPeriod numerator, when the units compare;
- ``sanity-daily-total``: frequency(Max) x dose, scaled to the maxDosePerPeriod period, is not above
  its numerator, when timing and maximum are both structured;
- ``sanity-per-kg``: a number the text gives per kg ("20–25 mg/kg") is not structured in a unit
  that is not per kg, and a per-kg structured dose has "kg" in its text;
- ``sanity-number-not-in-text``: every number of the Dosage's Quantities, Ranges, Ratios and Timing
  appears in Dosage.text. Allowed without appearing: the 1 of a per-period denominator, of a
  Timing period or frequency ("daily", "every 8 hours", "weekly"); number words count ("twice" = 2).
Units are compared through ucumvert's pint registry (built on first need, ~2 s).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from .definitions import Node
from .findings import Finding
from .units import UCUM, ucum_error

_NUMBER_WORDS = {
    "once": 1, "one": 1, "single": 1, "twice": 2, "two": 2, "thrice": 3, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "half": Decimal("0.5"),
}
_NUMBER = re.compile(r"(?<![\w.])((?:(?<=\s)-|^-)?(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+))(?![\d])")
_WORD = re.compile(r"[a-z]+")
_NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
# "20–25 mg/kg", "0.15 mg per kg", "80 units/kg": the numbers the text gives per kg.
_PER_KG_TEXT = re.compile(_NUM + r"(?:\s*(?:-|–|to)\s*" + _NUM + r")?\s*[a-zµμ]+\s*(?:/|per)\s*(?:kg|kilogram)\b", re.I)
_TIME_TO_UCUM = {"s": "s", "min": "min", "h": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}


@cache
def _registry():
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@cache
def _unit(code: str):
    if ucum_error(code) is not None:
        return None
    try:
        return _registry().from_ucum(code)
    except Exception:  # noqa: BLE001 - a unit pint cannot model is simply not compared
        return None


def _dec(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def convert(value: Decimal, from_code: str, to_code: str) -> Decimal | None:
    """``value`` in ``from_code`` expressed in ``to_code``; None when the units do not compare."""
    if from_code == to_code:
        return value
    a, b = _unit(from_code), _unit(to_code)
    if a is None or b is None or a.dimensionality != b.dimensionality:
        return None
    try:
        factor = (1 * a).to(b).magnitude
    except Exception:  # noqa: BLE001
        return None
    return value * Decimal(str(factor))


def _quantity(q: Any) -> tuple[Decimal, str] | None:
    if isinstance(q, dict) and q.get("system") == UCUM and isinstance(q.get("code"), str):
        v = _dec(q.get("value"))
        if v is not None:
            return v, q["code"]
    return None


def _exceeds(a: tuple[Decimal, str], b: tuple[Decimal, str]) -> bool:
    converted = convert(a[0], a[1], b[1])
    return converted is not None and converted > b[0] * Decimal("1.000001")


def numbers_in_text(text: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for m in _NUMBER.finditer(text):
        d = _dec(m.group(1).replace(",", ""))
        if d is not None:
            found.add(d.normalize())
    for w in _WORD.findall(text.lower()):
        if w in _NUMBER_WORDS:
            found.add(Decimal(_NUMBER_WORDS[w]).normalize())
    return found


def _structured_numbers(dosage: dict) -> list[tuple[str, Decimal, bool]]:
    """(relative path, number, may be implied) of every structured number of a Dosage."""
    out: list[tuple[str, Decimal, bool]] = []

    def quantity(path: str, q: Any, implied_one: bool = False) -> None:
        if isinstance(q, dict) and (v := _dec(q.get("value"))) is not None:
            out.append((f"{path}.value", v, implied_one and v == 1))

    def range_(path: str, r: Any) -> None:
        if isinstance(r, dict):
            quantity(f"{path}.low", r.get("low"))
            quantity(f"{path}.high", r.get("high"))

    def ratio(path: str, r: Any) -> None:
        if isinstance(r, dict):
            quantity(f"{path}.numerator", r.get("numerator"))
            quantity(f"{path}.denominator", r.get("denominator"), implied_one=True)

    for i, dr in enumerate(dosage.get("doseAndRate") or []):
        if not isinstance(dr, dict):
            continue
        base = f"doseAndRate[{i}]"
        quantity(f"{base}.doseQuantity", dr.get("doseQuantity"))
        quantity(f"{base}.rateQuantity", dr.get("rateQuantity"))
        range_(f"{base}.doseRange", dr.get("doseRange"))
        range_(f"{base}.rateRange", dr.get("rateRange"))
        ratio(f"{base}.rateRatio", dr.get("rateRatio"))
    periods = dosage.get("maxDosePerPeriod")
    for j, r in enumerate(periods if isinstance(periods, list) else [periods] if periods else []):
        ratio(f"maxDosePerPeriod[{j}]" if isinstance(periods, list) else "maxDosePerPeriod", r)
    quantity("maxDosePerAdministration", dosage.get("maxDosePerAdministration"))
    quantity("maxDosePerLifetime", dosage.get("maxDosePerLifetime"))
    repeat = (dosage.get("timing") or {}).get("repeat") if isinstance(dosage.get("timing"), dict) else None
    if isinstance(repeat, dict):
        for key in ("frequency", "frequencyMax", "period", "periodMax", "duration", "durationMax", "count", "countMax"):
            v = _dec(repeat.get(key))
            if v is not None:
                out.append((f"timing.repeat.{key}", v, key in ("frequency", "period") and v == 1))
        quantity("timing.repeat.boundsDuration", repeat.get("boundsDuration"))
        range_("timing.repeat.boundsRange", repeat.get("boundsRange"))
    return out


def _doses(dosage: dict) -> list[tuple[str, tuple[Decimal, str]]]:
    out = []
    for i, dr in enumerate(dosage.get("doseAndRate") or []):
        if not isinstance(dr, dict):
            continue
        if q := _quantity(dr.get("doseQuantity")):
            out.append((f"doseAndRate[{i}].doseQuantity", q))
        rng = dr.get("doseRange")
        if isinstance(rng, dict) and (q := _quantity(rng.get("high"))):
            out.append((f"doseAndRate[{i}].doseRange.high", q))
    return out


def _max_periods(dosage: dict) -> list[tuple[str, dict]]:
    periods = dosage.get("maxDosePerPeriod")
    if isinstance(periods, list):
        return [(f"maxDosePerPeriod[{j}]", p) for j, p in enumerate(periods) if isinstance(p, dict)]
    return [("maxDosePerPeriod", periods)] if isinstance(periods, dict) else []


def check_dosage(node: Node, rtype: str, rid: str | None) -> list[Finding]:
    dosage: dict = node.value
    findings: list[Finding] = []

    def add(rel: str, rule: str, message: str, severity: str = "error") -> None:
        findings.append(Finding(severity=severity, resource_type=rtype, resource_id=rid,
                                path=f"{node.path}.{rel}" if rel else node.path, message=message, rule=rule,
                                source=node.source))

    doses = _doses(dosage)
    max_admin = _quantity(dosage.get("maxDosePerAdministration"))
    for rel, dose in doses:
        if max_admin and _exceeds(dose, max_admin):
            add(rel, "sanity-dose-above-max", f"dose {dose[0]} {dose[1]} is above maxDosePerAdministration {max_admin[0]} {max_admin[1]}")
        for prel, ratio in _max_periods(dosage):
            numerator = _quantity(ratio.get("numerator"))
            if numerator and _exceeds(dose, numerator):
                add(rel, "sanity-dose-above-max", f"a single dose of {dose[0]} {dose[1]} is above the {prel} maximum of {numerator[0]} {numerator[1]}")

    repeat = (dosage.get("timing") or {}).get("repeat") if isinstance(dosage.get("timing"), dict) else None
    if isinstance(repeat, dict) and doses:
        freq = _dec(repeat.get("frequencyMax")) or _dec(repeat.get("frequency"))
        period, unit = _dec(repeat.get("period")), repeat.get("periodUnit")
        if freq and period and unit in _TIME_TO_UCUM:
            for prel, ratio in _max_periods(dosage):
                numerator, denominator = _quantity(ratio.get("numerator")), _quantity(ratio.get("denominator"))
                if not numerator or not denominator:
                    continue
                periods_in_max = convert(denominator[0], denominator[1], _TIME_TO_UCUM[unit])
                if periods_in_max is None or period == 0:
                    continue
                for rel, dose in doses:
                    total = dose[0] * freq * periods_in_max / period
                    if _exceeds((total, dose[1]), numerator):
                        add(rel, "sanity-daily-total",
                            f"{freq} x {dose[0]} {dose[1]} every {period} {unit} gives {total.normalize()} {dose[1]} per "
                            f"{denominator[0]} {denominator[1]}, above the {prel} maximum of {numerator[0]} {numerator[1]}")

    # Zero is in the source when it is structured (the number check below), but a zero dose or a
    # zero interval is almost always a typo in the monograph: say so, without refusing the bundle.
    for rel, (value, code) in _all_dose_quantities(dosage):
        if value <= 0:
            add(rel, "sanity-not-positive", f"a dose of {value} {code} is not positive", severity="warning")
    if isinstance(repeat, dict):
        for key in ("period", "periodMax"):
            if _dec(repeat.get(key)) == 0:  # a negative one breaks tim-5/tim-6 already
                add(f"timing.repeat.{key}", "sanity-not-positive", f"{key} is 0", severity="warning")

    text = dosage.get("text") if isinstance(dosage.get("text"), str) else ""
    structured_codes = [(rel, q[1]) for rel, q in _all_dose_quantities(dosage)]
    if text and structured_codes:
        per_kg_numbers = {
            d.normalize() for m in _PER_KG_TEXT.finditer(text) for g in m.groups() if g and (d := _dec(g.replace(",", ""))) is not None
        }
        for rel, (value, code) in _all_dose_quantities(dosage):
            if "/kg" not in code and value.normalize() in per_kg_numbers:
                add(rel, "sanity-per-kg", f"the text gives {value} per kg but the structured unit is {code}")
        per_kg = [(rel, code) for rel, code in structured_codes if "/kg" in code]
        if per_kg and not re.search(r"\bkg\b|kilogram", text, re.I):
            for rel, code in per_kg:
                add(rel, "sanity-per-kg", f"unit {code} is per kg but the text does not mention kg")

    if text:
        in_text = numbers_in_text(text)
        for rel, number, implied in _structured_numbers(dosage):
            if not implied and number.normalize() not in in_text:
                add(rel, "sanity-number-not-in-text", f"{number} does not appear in the dosage text {text!r}")
    return findings


def _all_dose_quantities(dosage: dict) -> list[tuple[str, tuple[Decimal, str]]]:
    out = []
    for i, dr in enumerate(dosage.get("doseAndRate") or []):
        if not isinstance(dr, dict):
            continue
        for key in ("doseQuantity", "rateQuantity"):
            if q := _quantity(dr.get(key)):
                out.append((f"doseAndRate[{i}].{key}", q))
        for key in ("doseRange", "rateRange"):
            rng = dr.get(key)
            if isinstance(rng, dict):
                for end in ("low", "high"):
                    if q := _quantity(rng.get(end)):
                        out.append((f"doseAndRate[{i}].{key}.{end}", q))
    for prel, ratio in _max_periods(dosage):
        if q := _quantity(ratio.get("numerator")):
            out.append((f"{prel}.numerator", q))
    if q := _quantity(dosage.get("maxDosePerAdministration")):
        out.append(("maxDosePerAdministration", q))
    return out


def check_range(node: Node, rtype: str, rid: str | None) -> list[Finding]:
    low, high = _quantity(node.value.get("low")), _quantity(node.value.get("high"))
    if low and high and low[1] != high[1] and _exceeds(low, high):  # one unit: rng-2 says it
        return [Finding(severity="error", resource_type=rtype, resource_id=rid, path=node.path, rule="sanity-low-high",
                        message=f"low {low[0]} {low[1]} is above high {high[0]} {high[1]}", source=node.source)]
    return []


def check_sanity(nodes: list[Node], rtype: str, rid: str | None) -> list[Finding]:
    findings: list[Finding] = []
    for node in nodes:
        if not isinstance(node.value, dict):
            continue
        if node.type == "Dosage":
            findings.extend(check_dosage(node, rtype, rid))
        elif node.type == "Range":
            findings.extend(check_range(node, rtype, rid))
    return findings
