"""extract.dose: one dosing statement -> DosageInstruction models (DESIGN.md §3.2)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mono2fhir.extract.dose import (
    parse_amounts,
    parse_dosage,
    parse_duration,
    parse_frequency,
    parse_maximum,
    parse_number,
    parse_route,
)
from mono2fhir.extract.numbers import WORDS
from mono2fhir.model import (
    Concept,
    Coding,
    DosageInstruction,
    DoseAndRate,
    DoseKind,
    Quantity,
    QuantityRange,
    Ratio,
    Source,
    Timing,
)
from mono2fhir.terminology import Terminology

SNOMED = "http://snomed.info/sct"
IV = Concept(text="Intravenous", codings=(Coding(system=SNOMED, code="47625008", display="Intravenous route"),))
SRC = Source(path="examples/x.md", line=7)


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load()


def q(value: str, code: str, unit: str | None = None) -> Quantity:
    return Quantity(value=Decimal(value), code=code, unit=unit or code)


def rng(low: str, high: str, code: str, unit: str | None = None) -> QuantityRange:
    return QuantityRange(low=q(low, code, unit), high=q(high, code, unit))


def per(frequency: int, period: str, unit: str, **extra) -> Timing:
    return Timing(frequency=frequency, period=Decimal(period), period_unit=unit, **extra)


def dose(quantity=None, range=None) -> DoseAndRate:
    return DoseAndRate(kind=DoseKind.DOSE, quantity=quantity, range=range)


def rate(type_text, quantity=None, range=None) -> DoseAndRate:
    return DoseAndRate(kind=DoseKind.RATE, type_text=type_text, quantity=quantity, range=range)


# --------------------------------------------------------------------------- parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [("2,550", "2550"), ("0.5", "0.5"), ("1,000", "1000"), ("12", "12"), ("1,000.25", "1000.25"), (" 7 ", "7")],
)
def test_parse_number_keeps_source_digits(text, value):
    parsed = parse_number(text)
    assert parsed == Decimal(value) and isinstance(parsed, Decimal)
    assert str(parsed) == value  # no float round trip: "0.5" stays "0.5"


@pytest.mark.parametrize("text", ["1,5", ".5", "abc", "", "1.2.3", "12,34"])
def test_parse_number_refuses_what_it_cannot_read_exactly(text):
    with pytest.raises(ValueError):
        parse_number(text)


# --------------------------------------------------------------------------- parse_frequency

FREQUENCIES = [
    ("twice daily", per(2, "1", "d")),
    ("twice a day", per(2, "1", "d")),
    ("2 times daily", per(2, "1", "d")),
    ("BID", per(2, "1", "d")),
    ("b.i.d.", per(2, "1", "d")),
    ("once daily", per(1, "1", "d")),
    ("daily", per(1, "1", "d")),
    ("once a day", per(1, "1", "d")),
    ("three times daily", per(3, "1", "d")),
    ("TID", per(3, "1", "d")),
    ("four times daily", per(4, "1", "d")),
    ("QID", per(4, "1", "d")),
    ("every 8 hours", per(1, "8", "h")),
    ("q8h", per(1, "8", "h")),
    ("every eight hours", per(1, "8", "h")),
    ("every 12 hours", per(1, "12", "h")),
    ("every 2 weeks", per(1, "2", "wk")),
    ("every 8 to 12 hours", per(1, "8", "h", period_max=Decimal(12))),
    ("every 8–12 hours", per(1, "8", "h", period_max=Decimal(12))),
    ("q8-12h", per(1, "8", "h", period_max=Decimal(12))),
    ("once weekly", per(1, "1", "wk")),
    ("once a week", per(1, "1", "wk")),
    ("weekly", per(1, "1", "wk")),
    ("two to three infusions per day", per(2, "1", "d", frequency_max=3)),
    ("divided into 2-3 doses per day", per(2, "1", "d", frequency_max=3)),
    ("in 2 to 3 divided doses", per(2, "1", "d", frequency_max=3)),
]


@pytest.mark.parametrize(("text", "timing"), FREQUENCIES, ids=[t for t, _ in FREQUENCIES])
def test_parse_frequency(text, timing):
    assert parse_frequency(text) == timing


@pytest.mark.parametrize(
    "text",
    [
        "every other day",  # would need an unwritten 2
        "2.5 times daily",  # not a whole count
        "the maximum daily dose",  # a quantity, not a schedule
        "2,000 mg/day",  # a unit's denominator
        "once daily, later every 8 hours",  # two schedules that differ
        "every 12 to 8 hours",  # reversed
        "up to 4 times daily",  # a bound on the schedule, not the schedule
        "at least twice daily",
        "no more often than every 8 hours",
        "given as directed",
    ],
)
def test_parse_frequency_leaves_text(text):
    assert parse_frequency(text) is None


# --------------------------------------------------------------------------- parse_duration


@pytest.mark.parametrize(
    ("text", "timing"),
    [
        ("for 8 weeks", Timing(bounds_duration=q("8", "wk"))),
        ("for two weeks", Timing(bounds_duration=q("2", "wk"))),
        ("for 10 to 14 days", Timing(bounds_range=rng("10", "14", "d"))),
        ("for 10–14 days", Timing(bounds_range=rng("10", "14", "d"))),
    ],
)
def test_parse_duration(text, timing):
    assert parse_duration(text) == timing


@pytest.mark.parametrize(
    "text", ["over 30 minutes", "up to 8 weeks", "for 14 to 10 days", "for 8 weeks, then for 4 weeks"]
)
def test_parse_duration_leaves_text(text):
    assert parse_duration(text) is None


# --------------------------------------------------------------------------- parse_amounts

AMOUNTS = [
    ("500 mg", [dose(q("500", "mg"))]),
    ("500mg", [dose(q("500", "mg"))]),
    ("0.15 mg/kg", [dose(q("0.15", "mg/kg"))]),
    ("80 units/kg", [dose(q("80", "[iU]/kg", "IU/kg"))]),
    ("250 mcg", [dose(q("250", "ug", "µg"))]),
    ("10 mg/kg/dose", [dose(q("10", "mg/kg"))]),
    ("5 mg per kg", [dose(q("5", "mg/kg"))]),
    ("1 to 2 g", [dose(range=rng("1", "2", "g"))]),
    ("1-2 g", [dose(range=rng("1", "2", "g"))]),
    ("1–2 g", [dose(range=rng("1", "2", "g"))]),
    ("1,000–2,000 IU", [dose(range=rng("1000", "2000", "[iU]", "IU"))]),
    ("500 mg to 1000 mg", [dose(range=rng("500", "1000", "mg"))]),
    ("0.5 to 1 g/kg/day", [rate("daily total", range=rng("0.5", "1", "g/kg/d"))]),
    ("25 to 45 mg/kg/day", [rate("daily total", range=rng("25", "45", "mg/kg/d"))]),
    ("2 g/day", [rate("daily total", q("2", "g/d"))]),
    ("2 g per day", [rate("daily total", q("2", "g/d"))]),
    ("18 units/kg/hour", [rate("infusion rate", q("18", "[iU]/kg/h", "IU/kg/h"))]),
    ("0.1 mcg/kg/min", [rate("infusion rate", q("0.1", "ug/kg/min", "µg/kg/min"))]),
    ("0.5 to 1 g/kg/day (500 mg/kg/day to 1000 mg/kg/day)", [rate("daily total", range=rng("0.5", "1", "g/kg/d"))]),
]


@pytest.mark.parametrize(("text", "expected"), AMOUNTS, ids=[t for t, _ in AMOUNTS])
def test_parse_amounts(terminology, text, expected):
    assert parse_amounts(text, terminology) == expected


@pytest.mark.parametrize(
    "text",
    [
        "children aged 3 months and older",  # age
        "patients weighing over 40 kg",  # weight
        "CrCl 30–50 mL/min",  # renal function
        "eGFR ≥45 mL/min/1.73 m²",  # a unit that continues: not a dose unit
        "glucose above 70 mg/dL",
        "doses above 2,000 mg/day",  # a threshold
        "for 8 weeks every 8 hours",  # durations and frequencies
        "should not exceed 1.5 g/kg/day",  # a maximum
        "(500 mg/kg/day to 1000 mg/kg/day)",  # a parenthesised restatement
        "5 widgets",  # an unknown unit
        "500 mg to 1 g",  # ends in different units
        "2 to 1 g",  # reversed
        "increase in increments of 500 mg weekly",  # a titration step
    ],
)
def test_parse_amounts_ignores_numbers_that_are_not_doses(terminology, text):
    assert parse_amounts(text, terminology) == []


# --------------------------------------------------------------------------- parse_maximum

PER_DAY = q("1", "d")
MAX_1_5 = Ratio(numerator=q("1.5", "g/kg"), denominator=PER_DAY)
MAX_2550 = Ratio(numerator=q("2550", "mg"), denominator=PER_DAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Should not exceed 1.5 g/kg/day.", (Ratio(numerator=q("1.5", "g/kg"), denominator=PER_DAY), None)),
        ("maximum 4 g per day", (Ratio(numerator=q("4", "g"), denominator=PER_DAY), None)),
        ("max 2,550 mg/day", (Ratio(numerator=q("2550", "mg"), denominator=PER_DAY), None)),
        ("not to exceed 4 g/day", (Ratio(numerator=q("4", "g"), denominator=PER_DAY), None)),
        ("maximum daily dose of 4 g", (Ratio(numerator=q("4", "g"), denominator=PER_DAY), None)),
        ("a single dose should not exceed 16 mg", (None, q("16", "mg"))),
        ("up to 4 mg per dose", (None, q("4", "mg"))),
        ("maximum single dose 2 g", (None, q("2", "g"))),
        ("500 mg twice daily", (None, None)),
        ("to a maximum of 2,000 mg once daily", (None, None)),  # per dose or per day: not said
        ("should not exceed 3 to 4 g/day", (None, None)),
        ("the dose should not exceed 2,550 mg/day in adults; for extended-release the maximum is 2,000 mg/day",
         (None, None)),  # two different maxima
    ],
)
def test_parse_maximum(terminology, text, expected):
    assert parse_maximum(text, terminology) == expected


# --------------------------------------------------------------------------- parse_route


def test_parse_route_seed(terminology):
    assert parse_route("Intravenous infusion: 0.5 to 1 g/kg/day", terminology) == IV


@pytest.mark.parametrize(
    ("text", "written", "code"),
    [
        ("500 mg orally twice daily", "orally", "26643006"),
        ("80 units/kg IV bolus", "IV", "47625008"),
        ("given by mouth", "by mouth", "26643006"),
        ("1 mg SC daily", "SC", "34206005"),
        ("administered intravenously over 2 hours, intravenous infusion", "intravenously", "47625008"),
    ],
)
def test_parse_route_is_coded_and_written_as_in_source(terminology, text, written, code):
    route = parse_route(text, terminology)
    assert route is not None and route.text == written and [c.code for c in route.codings] == [code]


@pytest.mark.parametrize(
    "text", ["500 mg twice daily", "stage IV disease", "not for intravenous use", "orally or intravenously"]
)
def test_parse_route_none(terminology, text):
    assert parse_route(text, terminology) is None


# --------------------------------------------------------------------------- parse_dosage


def test_seed_adult_dose(terminology):
    text = "Intravenous infusion: 0.5 to 1 g/kg/day (500 mg/kg/day to 1000 mg/kg/day)"
    assert parse_dosage(text, SRC, terminology) == [
        DosageInstruction(
            text=text, source=SRC, route=IV,
            dose_and_rate=(rate("daily total", range=rng("0.5", "1", "g/kg/d")),),
        )
    ]  # fmt: skip


def test_seed_frequency(terminology):
    text = "Dosage frequency: Divided into two to three infusions per day, administered at a controlled rate."
    assert parse_dosage(text, SRC, terminology) == [
        DosageInstruction(text=text, source=SRC, timing=per(2, "1", "d", frequency_max=3))
    ]


def test_seed_maximum(terminology):
    text = "Maximum dosage limits: Should not exceed 1.5 g/kg/day."
    assert parse_dosage(text, SRC, terminology) == [
        DosageInstruction(text=text, source=SRC, max_dose_per_period=MAX_1_5)
    ]


def test_alternatives_become_two_dosages(terminology):
    text = (
        "Immediate-release tablets: start with 500 mg orally twice daily or 850 mg orally once daily, taken with meals."
    )
    oral = parse_route("orally", terminology)
    assert parse_dosage(text, SRC, terminology) == [
        DosageInstruction(
            text=text, source=SRC, route=oral, timing=per(2, "1", "d"), dose_and_rate=(dose(q("500", "mg")),)
        ),
        DosageInstruction(
            text=text, source=SRC, route=oral, timing=per(1, "1", "d"), dose_and_rate=(dose(q("850", "mg")),)
        ),
    ]


def test_sequence_becomes_numbered_dosages(terminology):
    text = "80 units/kg IV bolus, followed by 18 units/kg/hour"
    route = parse_route(text, terminology)
    assert route is not None and route.text == "IV"
    assert parse_dosage(text, SRC, terminology) == [
        DosageInstruction(
            text=text, source=SRC, sequence=1, route=route, dose_and_rate=(dose(q("80", "[iU]/kg", "IU/kg")),)
        ),
        DosageInstruction(
            text=text, source=SRC, sequence=2, route=route,
            dose_and_rate=(rate("infusion rate", q("18", "[iU]/kg/h", "IU/kg/h")),),
        ),
    ]  # fmt: skip


def test_dose_frequency_and_duration_in_one_statement(terminology):
    text = "0.15 mg/kg every 8 hours for 10 to 14 days"
    [dosage] = parse_dosage(text, SRC, terminology)
    assert dosage.dose_and_rate == (dose(q("0.15", "mg/kg")),)
    assert dosage.timing == per(1, "8", "h", bounds_range=rng("10", "14", "d"))


def test_daily_total_with_divided_doses_and_maximum(terminology):
    text = "25 to 45 mg/kg/day in 2 to 3 divided doses; maximum 4 g per day"
    [dosage] = parse_dosage(text, SRC, terminology)
    assert dosage.dose_and_rate == (rate("daily total", range=rng("25", "45", "mg/kg/d")),)
    assert dosage.timing == per(2, "1", "d", frequency_max=3)
    assert dosage.max_dose_per_period == Ratio(numerator=q("4", "g"), denominator=PER_DAY)


def test_titration_steps_are_not_doses(terminology):
    text = (
        "Children 10 to 16 years (immediate-release): 500 mg orally twice daily with meals,"
        " increased in increments of 500 mg weekly."
    )
    [dosage] = parse_dosage(text, SRC, terminology)
    assert dosage.dose_and_rate == (dose(q("500", "mg")),)
    assert dosage.timing == per(2, "1", "d")  # "weekly" belongs to the increments


def test_threshold_does_not_lend_its_schedule_to_the_maximum(terminology):
    text = (
        "Maximum dose: should not exceed 2,550 mg/day; doses above 2,000 mg/day may be better tolerated"
        " given three times daily with meals."
    )
    assert parse_dosage(text, SRC, terminology) == [
        DosageInstruction(text=text, source=SRC, max_dose_per_period=MAX_2550)
    ]


def test_alternatives_with_shared_maximum(terminology):
    text = "Adults usually start with 500 mg twice daily or 850 mg once daily, maximum 2,550 mg/day."
    first, second = parse_dosage(text, SRC, terminology)
    limit = Ratio(numerator=q("2550", "mg"), denominator=PER_DAY)
    assert first.dose_and_rate == (dose(q("500", "mg")),) and first.timing == per(2, "1", "d")
    assert second.dose_and_rate == (dose(q("850", "mg")),) and second.timing == per(1, "1", "d")
    assert first.max_dose_per_period == second.max_dose_per_period == limit
    assert first.sequence is None and second.sequence is None


def test_sequence_with_durations(terminology):
    text = "500 mg daily for 3 days, then 250 mg daily for 4 days"
    first, second = parse_dosage(text, SRC, terminology)
    assert (first.sequence, first.timing) == (1, per(1, "1", "d", bounds_duration=q("3", "d")))
    assert (second.sequence, second.timing) == (2, per(1, "1", "d", bounds_duration=q("4", "d")))


def test_parenthesised_maximum_is_not_structured(terminology):
    [dosage] = parse_dosage("10 mg/kg (max 500 mg) every 12 hours", SRC, terminology)
    assert dosage.dose_and_rate == (dose(q("10", "mg/kg")),) and dosage.max_dose_per_administration is None


def test_renal_band_numbers_are_not_doses(terminology):
    text = "CrCl 30–50 mL/min: 500 mg daily"
    [dosage] = parse_dosage(text, SRC, terminology)
    assert dosage.dose_and_rate == (dose(q("500", "mg")),)


@pytest.mark.parametrize(
    "text",
    [
        "500 mg twice or three times daily",  # "or" between schedules
        "500 mg every other day; 250 mg daily",  # two doses, one instruction
        "Adults: 500 mg twice daily; Children: 250 mg twice daily",
        "2 tablets twice daily",  # unknown unit
        "5 widgets twice daily",
        "500 mg to 1 g daily",  # range ends in different units
        "500 mg daily, then every 8 hours",  # conflicting schedules
        "500 mg in 100 mL over 30 minutes",  # two amounts: which is the dose?
        "500 mg/5 mL twice daily",  # a concentration, not a dose unit
        "Dose reduction or increased interval between doses is needed.",
        "Patients with Renal Impairment: eGFR ≥45 mL/min/1.73 m²: no dose adjustment",
        "Standard dose.",
    ],
)
def test_unsure_statements_stay_text(terminology, text):
    dosages = parse_dosage(text, SRC, terminology)
    assert len(dosages) == 1
    assert dosages[0].text == text and dosages[0].source == SRC and not dosages[0].is_structured()


def test_text_only_statement_keeps_its_route(terminology):
    [dosage] = parse_dosage("Give 2 tablets orally twice daily.", SRC, terminology)
    assert not dosage.is_structured() and dosage.route is not None and dosage.route.text == "orally"


def test_every_other_day_keeps_the_dose_but_not_the_schedule(terminology):
    [dosage] = parse_dosage("500 mg every other day", SRC, terminology)
    assert dosage.dose_and_rate == (dose(q("500", "mg")),) and dosage.timing is None


def test_blank_statement_gives_nothing(terminology):
    assert parse_dosage("  ", SRC, terminology) == []


# --------------------------------------------------------------------------- property: no invented numbers

UNITS = ["mg", "g", "mcg", "IU", "units", "mg/kg", "mg/kg/day", "g/kg/day", "units/kg/hour", "mg per day"]
SCHEDULES = ["twice daily", "three times daily", "every 8 hours", "every 6 to 8 hours", "q12h", "once weekly",
             "in 2 to 3 divided doses", "for 10 days", "every other day", "BID", ""]  # fmt: skip
NUMBER_TEXT = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2).map(
    lambda d: Decimal(format(d.normalize(), "f"))  # "250", "0.5", "12.25": as a monograph writes them
)


def _numbers(value, key=""):
    """(field, number) for every number in a dumped model."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, k)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers(v, key)
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool) and key != "line":
        yield key, Decimal(value)


@settings(max_examples=300, deadline=None)
@given(low=NUMBER_TEXT, high=NUMBER_TEXT, unit=st.sampled_from(UNITS), schedule=st.sampled_from(SCHEDULES),
       commas=st.booleans())  # fmt: skip
def test_every_structured_number_is_in_the_text(terminology, low, high, unit, schedule, commas):
    assume(low < high)
    fmt = (lambda d: f"{d:,}") if commas else str
    text = f"{fmt(low)} to {fmt(high)} {unit} {schedule}".strip()
    digits = {Decimal(n.replace(",", "")) for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)}  # also "q12h"
    words = {**WORDS, "bid": 2, "tid": 3, "qid": 4}  # number words and the Latin abbreviations
    written = digits | {Decimal(v) for w, v in words.items() if w in text.lower().split()}
    for dosage in parse_dosage(text, SRC, terminology):
        for field, number in _numbers(dosage.model_dump()):
            implied_one = number == 1 and field in ("period", "frequency")  # "daily", "every 8 hours"
            assert number in written or implied_one, (text, field, number)
        if dosage.dose_and_rate:
            [entry] = dosage.dose_and_rate
            assert entry.range is not None and (entry.range.low.value, entry.range.high.value) == (low, high)
