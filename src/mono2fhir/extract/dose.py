"""One dosing statement -> FHIR-ready ``DosageInstruction``s (DESIGN.md §3.2), as small pure functions.

``parse_dosage`` reads the whole statement; the pieces it is built from are public and tested alone:
``parse_number``, ``parse_frequency``, ``parse_duration``, ``parse_amounts``, ``parse_maximum``,
``parse_route``. Structure is added only when the statement is unambiguous: every number in the
result is written in the source (bar the implied 1 of "daily" and "/day" and number words like
"twice"), units and routes come only from the terminology tables, and anything unsure (conflicting
numbers, "or" between frequencies, an unknown unit, a reversed range) leaves the statement as text.
Parenthesised text is never structured: it restates a dose in other units or qualifies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from ..model import Concept, DosageInstruction, DoseAndRate, DoseKind, Quantity, QuantityRange, Ratio, Source, Timing
from ..terminology import CodeTable, Entry, Terminology
from . import timing as _timing
from .numbers import COUNT, NUMBER, RANGE_SEP, parse_number
from .timing import parse_duration, parse_frequency

__all__ = [
    "parse_number", "parse_frequency", "parse_duration", "parse_amounts", "parse_maximum", "parse_route",
    "parse_dosage",
]  # fmt: skip

# "(500 mg/kg/day to 1000 mg/kg/day)", "(immediate-release)": restatements and qualifiers, never doses.
PARENTHESES = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")

# From here on the statement is about changing a dose, not giving one: "increased in increments of
# 500 mg weekly", "titrated to 2,000 mg/day". Numbers after it are steps and targets, not doses.
TITRATION = re.compile(
    r"\b(?:titrat\w*|increments?|(?:increas|decreas|reduc)\w*\s+(?:by|in|to|gradually)|taper\w*|escalat\w*)\b", re.I
)

# Phrases that make the amount right after them a maximum: "should not exceed", "max", "up to".
# The gap may hold words ("maximum single dose of", "the maximum is") but no digits or ";".
MAX_CUE = re.compile(
    r"(?:\bnot\s+(?:to\s+)?exceed\w*|\bnever\s+exceed\w*|\bmaxim(?:um|al)\b|\bmax\b\.?|\bup\s+to|"
    r"\b(?:no|not)\s+more\s+than|\bat\s+most)[^\d;]{0,40}$",
    re.I,
)
# A maximum that is per administration: "a single dose should not exceed", "maximum single dose".
ADMIN_CUE = re.compile(r"\b(?:single|each|per|one|individual)\s+(?:dose|administration|injection|infusion)\b", re.I)
# A maximum per day although the unit has no "/day": "maximum daily dose 4 g", "max 4 g daily".
DAILY_BEFORE = re.compile(r"\b(?:daily|per\s+day|a\s+day)\b", re.I)
DAILY_AFTER = re.compile(r"\s*(?:daily|a\s+day|per\s+day|each\s+day)\b", re.I)

# An amount right after a comparison is a threshold, not a dose: "doses above 2,000 mg/day", "≥45 mL/min".
THRESHOLD = re.compile(
    r"(?:\b(?:above|below|over|under|exceeding|(?:greater|less|more|fewer)\s+than|at\s+least)|[≥≤<>]=?)\s*$", re.I
)
# An amount shortly after a measurement's name is a patient value: "CrCl 30–50 mL/min", "eGFR of 45 mL/min".
MEASURE = re.compile(
    r"\b(?:crcl|creatinine\s+clearance|clearance|e?gfr|weigh\w*|body\s+weight|serum|plasma|levels?|"
    r"concentrations?|glucose|potassium|sodium|platelets?|count)\b[^\d:;,]{0,30}$",
    re.I,
)
# Where a clause ends: the context of an amount is looked for only after the last of these.
CLAUSE_END = re.compile(r";|[.?!](?=\s)")

# Splitting one statement into several Dosage entries (only when every part has a dose of its own).
SEQUENCE_SPLIT = re.compile(r"[,;]?\s*\b(?:followed\s+by|then)\b\s*", re.I)
ALTERNATIVE_SPLIT = re.compile(r",?\s+\bor\b\s+", re.I)
# An "or" that offers a second number or schedule we did not split on: "twice or three times daily".
UNSURE_OR = re.compile(
    rf"\bor\s+(?=\d|{COUNT}|every\b|q\.?\d|[bt]\.?i\.?d\b|q\.?i\.?d\b|daily\b|weekly\b)", re.I
)

# Words after a route that name the method, not the route: "Intravenous infusion" -> text "Intravenous".
METHOD = re.compile(r"\s+(?:infusion|injection|bolus)$", re.I)
# "not for intravenous use", "avoid IM": the route is named to exclude it.
NEGATED = re.compile(r"\b(?:not|never|avoid|except|instead\s+of|rather\s+than|non)\b[\s\w-]{0,20}$", re.I)
# "stage IV", "class IV": a roman numeral, not a route.
NOT_A_ROUTE = re.compile(r"\b(?:stage|class|type|grade|phase|schedule|category|level)\s*$", re.I)

# A number followed by a dose form or an unparsed slash unit is a dose in a unit we do not know:
# "2 tablets twice daily", "5 mg/dL", "500 mg/5 mL". Never invent the unit: the statement stays text.
UNKNOWN_UNIT = re.compile(
    r"\s*(?:[^\W\d_]+/\S+|(?:tab|tablet|cap|capsule|drop|puff|spray|sachet|vial|ampoule|lozenge|patch|"
    r"suppositor(?:y|ie)|teaspoon|tablespoon|scoop|actuation|inhalation|application)(?:e?s)?\b)",
    re.I,
)
# Words a bare number may stand before without being a dose: counts, ages, weights, schedules.
COUNTED = re.compile(
    r"\s*(?:times|doses?|divided|infusions?|injections?|administrations?|seconds?|minutes?|mins?|hours?|hrs?|h|"
    r"days?|weeks?|months?|years?|yrs?|kg|kilograms?)\b",
    re.I,
)

RATE_TYPES = {"/d": "daily total", "/h": "infusion rate", "/min": "infusion rate", "/wk": "weekly total"}


# --------------------------------------------------------------------------- units and amounts


@dataclass(frozen=True)
class Unit:
    """A composed dose unit: amount ["/" per-weight] ["/" per-time] ["/dose"]."""

    amount: Entry
    weight: Entry | None = None
    time: Entry | None = None
    per_dose: bool = False

    def _parts(self, field: str, with_time: bool) -> str:
        parts = [self.amount, self.weight] + ([self.time] if with_time else [])
        return "".join(getattr(e, field) or e.code for e in parts if e is not None)

    def quantity(self, value: Decimal, with_time: bool = True) -> Quantity:
        return Quantity(value=value, code=self._parts("code", with_time), unit=self._parts("unit", with_time))


Role = Literal["dose", "max", "other", "invalid"]


@dataclass(frozen=True)
class Amount:
    """A number or range with a known unit, found at ``start:end`` of the text, and what it is."""

    start: int
    end: int
    low: Decimal
    high: Decimal | None
    unit: Unit
    role: Role = "dose"
    before: str = ""  # the words before it, back to the clause start or the previous amount


@lru_cache(maxsize=8)
def _unit_pattern(units: CodeTable) -> re.Pattern[str]:
    def alternation(kind: str) -> str:
        phrases = [p for p in units.phrases() if units.lookup(p).kind == kind]  # type: ignore[union-attr]
        return "|".join(re.escape(p) for p in phrases) or "(?!)"

    per = r"\s*(?:/|\bper\s)\s*"
    # The unit must end the word: "mg/dL" or "mL/min/1.73 m²" continue with "/" and are not dose units.
    return re.compile(
        rf"\s*(?P<amount>{alternation('amount')})(?:{per}(?P<weight>{alternation('per_weight')}))?"
        rf"(?:{per}(?P<time>{alternation('per_time')}))?"
        rf"(?P<dose>{per}(?:dose|administration|injection|infusion)\b)?(?![\w/])",
        re.I,
    )


def _unit_at(text: str, pos: int, units: CodeTable) -> tuple[Unit, int] | None:
    m = _unit_pattern(units).match(text, pos)
    if not m:
        return None
    weight, time = (units.lookup(m[g]) if m[g] else None for g in ("weight", "time"))
    return Unit(units.lookup(m["amount"]), weight, time, bool(m["dose"])), m.end()  # type: ignore[arg-type]


def mask_parentheses(text: str) -> str:
    """``text`` with bracketed parts blanked out (same length, so positions still match the source)."""
    while (masked := PARENTHESES.sub(lambda m: " " * len(m.group()), text)) != text:
        text = masked
    return text


def find_amounts(text: str, terminology: Terminology) -> list[Amount]:
    """Every number or range followed by a known unit, with its role: dose, max, other or invalid."""
    units, found, pos = terminology.units, [], 0
    cut = m.start() if (m := TITRATION.search(text)) else len(text)
    for number in NUMBER.finditer(text):
        if number.start() < pos:
            continue
        low, high, unit, end = parse_number(number.group()), None, None, number.end()
        first = _unit_at(text, end, units)
        after_first = first[1] if first else end
        sep = RANGE_SEP.match(text, after_first)
        second = NUMBER.match(text, sep.end()) if sep else None
        if second and (second_unit := _unit_at(text, second.end(), units)):
            high, unit, end = parse_number(second.group()), second_unit[0], second_unit[1]
            invalid = (first is not None and first[0] != unit) or high <= low
        elif first:
            unit, end, invalid = first[0], first[1], False
        else:
            continue  # a bare number ("10 to 16 years", "Type 2"): not an amount
        start = number.start()
        previous_end = found[-1].end if found else 0
        before = text[max([previous_end] + [m.end() for m in CLAUSE_END.finditer(text, 0, start)]) : start]
        role: Role = "other" if start >= cut else "invalid" if invalid else _role(before)
        found.append(Amount(start, end, low, high, unit, role, before))
        pos = end
    return found


def _role(before: str) -> Role:
    """What an amount is, judged by the words before it (back to the clause start or previous amount)."""
    if MAX_CUE.search(before):
        return "max"
    if THRESHOLD.search(before) or MEASURE.search(before):
        return "other"
    return "dose"


def _dose_and_rate(amount: Amount) -> DoseAndRate:
    unit = amount.unit
    rate = unit.time is not None
    low = unit.quantity(amount.low)
    return DoseAndRate(
        kind=DoseKind.RATE if rate else DoseKind.DOSE,
        type_text=RATE_TYPES.get(unit.time.code) if unit.time else None,
        quantity=None if amount.high is not None else low,
        range=QuantityRange(low=low, high=unit.quantity(amount.high)) if amount.high is not None else None,
    )


def parse_amounts(text: str, terminology: Terminology) -> list[DoseAndRate]:
    """The doses and rates in ``text``: "500 mg" -> DOSE, "0.5 to 1 g/kg/day" -> RATE "daily total".

    Not doses: parenthesised restatements, maxima, thresholds ("above 2 g/day"), patient measures
    ("CrCl 30–50 mL/min"), titration steps, ranges whose ends differ in unit or are reversed.
    """
    return [_dose_and_rate(a) for a in find_amounts(mask_parentheses(text), terminology) if a.role == "dose"]


# --------------------------------------------------------------------------- maxima


def _maximum(text: str, amount: Amount) -> Ratio | Quantity | None:
    """The maximum an amount in a max context states: a Ratio per period, a Quantity per dose, or None."""
    if amount.high is not None:
        return None  # "should not exceed 3 to 4 g": no single limit
    unit, before = amount.unit, amount.before
    if unit.time is not None:
        per = unit.time.code.lstrip("/")
        return Ratio(numerator=unit.quantity(amount.low, with_time=False), denominator=_one(per))
    if unit.per_dose or ADMIN_CUE.search(before):
        return unit.quantity(amount.low)
    cue = MAX_CUE.search(before)
    if (cue and DAILY_BEFORE.search(before, cue.start())) or DAILY_AFTER.match(text, amount.end):
        return Ratio(numerator=unit.quantity(amount.low), denominator=_one("d"))
    return None  # "to a maximum of 2,000 mg once daily": per dose or per day? leave as text


def _one(code: str) -> Quantity:
    return Quantity(value=Decimal(1), code=code, unit=code)


def _maxima(text: str, amounts: list[Amount]) -> tuple[set[Ratio], set[Quantity]]:
    per_period: set[Ratio] = set()
    per_dose: set[Quantity] = set()
    for amount in amounts:
        found = _maximum(text, amount) if amount.role == "max" else None
        if isinstance(found, Ratio):
            per_period.add(found)
        elif found is not None:
            per_dose.add(found)
    return per_period, per_dose


def parse_maximum(text: str, terminology: Terminology) -> tuple[Ratio | None, Quantity | None]:
    """(maxDosePerPeriod, maxDosePerAdministration) stated in ``text``; each None if absent or if two differ.

    "should not exceed 1.5 g/kg/day" -> (1.5 g/kg per 1 d, None); "up to 4 mg per dose" -> (None, 4 mg).
    """
    masked = mask_parentheses(text)
    per_period, per_dose = _maxima(masked, find_amounts(masked, terminology))
    return (
        per_period.pop() if len(per_period) == 1 else None,
        per_dose.pop() if len(per_dose) == 1 else None,
    )


# --------------------------------------------------------------------------- route


@lru_cache(maxsize=8)
def _route_pattern(routes: CodeTable) -> re.Pattern[str]:
    alternation = "|".join(re.escape(p) for p in routes.phrases())
    return re.compile(rf"(?<![\w.-])(?:{alternation})(?![\w-])", re.I)


def parse_route(text: str, terminology: Terminology) -> Concept | None:
    """The route ``text`` names, coded from the routes table; text as written ("Intravenous").

    None when no route is named, when two different routes are, or when one is named to exclude it.
    """
    routes = terminology.routes
    found: list[tuple[str, str]] = []  # (as written, code)
    for m in _route_pattern(routes).finditer(text):
        before = text[: m.start()]
        if NOT_A_ROUTE.search(before):
            continue
        if NEGATED.search(before):
            return None
        found.append((m.group(), routes.lookup(m.group()).code))  # type: ignore[union-attr]
    if len({code for _, code in found}) != 1:
        return None
    written = found[0][0]
    trimmed = METHOD.sub("", written)
    if routes.lookup(trimmed) is not None and routes.lookup(trimmed) == routes.lookup(written):
        written = trimmed
    return routes.concept(found[0][0], text=written)


# --------------------------------------------------------------------------- the whole statement


class _Unsure(Exception):
    """The statement cannot be structured safely; it stays text."""


def _split(zone: str, amounts: list[Amount]) -> tuple[list[tuple[int, int]], bool]:
    """Segments of the statement as (start, end), and whether they are a sequence."""
    doses = [a for a in amounts if a.role == "dose"]
    for pattern, is_sequence in ((SEQUENCE_SPLIT, True), (ALTERNATIVE_SPLIT, False)):
        bounds = [0] + [p for m in pattern.finditer(zone) for p in (m.start(), m.end())] + [len(zone)]
        spans = list(zip(bounds[::2], bounds[1::2], strict=True))
        if len(spans) > 1 and all(any(s <= d.start < e for d in doses) for s, e in spans):
            return spans, is_sequence
    return [(0, len(zone))], False


def _unknown_unit(text: str, amounts: list[Amount]) -> bool:
    """A bare number used as a dose in a unit the tables do not know ("5 widgets twice daily")."""
    for number in NUMBER.finditer(text):
        if any(a.start <= number.start() < a.end for a in amounts) or COUNTED.match(text, number.end()):
            continue
        if UNKNOWN_UNIT.match(text, number.end()):
            return True
        word = re.compile(r"\s*[^\W\d_]+\s+").match(text, number.end())
        if word and any(p.match(text, word.end()) for p, _ in _timing.FREQUENCY_PATTERNS):
            return True
    return False


def _one_or_none(readings: list, what: str):  # type: ignore[no-untyped-def]
    distinct = set(readings)
    if len(distinct) > 1:
        raise _Unsure(f"conflicting {what}")
    return distinct.pop() if distinct else None


def _segment_timing(zone: str, amounts: list[Amount], start: int, end: int) -> Timing | None:
    blanked = list(zone)
    for a in amounts:  # "2 g/day" is a unit, not a schedule
        blanked[a.start : a.end] = " " * (a.end - a.start)
    part = "".join(blanked)[start:end]
    frequency = _one_or_none([t for _, t in _timing.find_frequencies(part)], "frequencies")
    duration = _one_or_none(_timing.find_durations(part), "durations")
    return _timing.merge(frequency, duration)


def parse_dosage(text: str, source: Source, terminology: Terminology) -> list[DosageInstruction]:
    """Every Dosage one statement gives: alternatives ("500 mg twice daily or 850 mg once daily") and
    sequences ("80 units/kg bolus, followed by 18 units/kg/hour", with ``sequence`` 1, 2) become
    several. Each carries the full statement as ``text``; a statement that cannot be structured
    safely gives one text-only entry (with its route, if it names exactly one). Blank text gives [].
    """
    if not text.strip():
        return []
    masked = mask_parentheses(text)
    route = parse_route(masked, terminology)
    plain = DosageInstruction(text=text, source=source, route=route)
    cut = m.start() if (m := TITRATION.search(masked)) else len(masked)
    zone, amounts = masked[:cut], find_amounts(masked, terminology)
    try:
        if any(a.role == "invalid" for a in amounts):
            raise _Unsure("a range with mixed units or reversed ends")
        if _unknown_unit(zone, amounts):
            raise _Unsure("a dose in a unit the tables do not know")
        per_period, per_dose = _maxima(masked, amounts)
        max_period = _one_or_none(list(per_period), "maxima per period")
        max_dose = _one_or_none(list(per_dose), "maxima per dose")
        spans, is_sequence = _split(zone, amounts)
        if len(spans) == 1 or is_sequence:
            if UNSURE_OR.search(zone):
                raise _Unsure("'or' offers another number or schedule")
        result = []
        for index, (start, end) in enumerate(spans, start=1):
            inside = [a for a in amounts if start <= a.start < end]
            doses = [a for a in inside if a.role == "dose"]
            if len(doses) > 1:
                raise _Unsure("more than one dose in one instruction")
            timing = _segment_timing(zone, amounts, start, end)
            if not doses and inside:
                timing = None  # whose schedule? ("max 4 g daily", "doses above 2 g/day ... three times daily")
            result.append(
                DosageInstruction(
                    text=text,
                    source=source,
                    sequence=index if is_sequence else None,
                    route=parse_route(zone[start:end], terminology) or route,
                    timing=timing,
                    dose_and_rate=tuple(_dose_and_rate(a) for a in doses),
                    max_dose_per_period=max_period,
                    max_dose_per_administration=max_dose,
                )
            )
        return result
    except _Unsure:
        return [plain]
