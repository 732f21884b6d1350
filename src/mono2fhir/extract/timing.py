"""Frequencies and durations in dosing prose -> ``Timing`` (FHIR Timing.repeat).

Only what is written is encoded: a count comes from digits or a number word ("twice" = 2), and the
only implied number is the period 1 of "daily", "a day", "weekly", "every hour". Phrases that need a
number that is not written ("every other day") stay text. When a text names two different
frequencies (or durations) the answer is None: a wrong timing is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from ..model import PeriodUnit, Quantity, QuantityRange, Timing
from .numbers import COUNT, NUMBER, RANGE_SEP, parse_count, parse_number

# Time words -> UCUM period units (FHIR Timing.repeat.periodUnit / Duration.code). Not terminology:
# these seven codes are fixed by the FHIR value set units-of-time.
TIME_UNITS: dict[str, PeriodUnit] = {
    "second": "s", "sec": "s", "minute": "min", "min": "min", "hour": "h", "hr": "h", "h": "h",
    "day": "d", "week": "wk", "wk": "wk", "month": "mo", "year": "a",
}  # fmt: skip
_TIME = r"(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|months?|years?)"

# "daily"/"a day"/"each day" and their weekly and hourly twins: the implied period 1.
_PER = r"(?:daily|(?:a|per|each|every)\s+(?:day|week)|/\s*(?:day|week)|weekly|hourly|(?:a|per|an|each)\s+hour)"
_SPAN = RANGE_SEP.pattern  # "2 to 3", "2-3", "8–12"

# "up to 4 times daily", "at least every 8 hours": a bound on the schedule, not the schedule itself.
BOUNDED = re.compile(
    r"(?:\bup\s+to|\bat\s+(?:least|most)|\b(?:no|not)\s+more\s+(?:often\s+)?than|\bmax(?:imum)?(?:\s+of)?)\s*$", re.I
)


def _per_unit(words: str) -> PeriodUnit:
    words = words.lower()
    return "wk" if "week" in words else "h" if "hour" in words else "d"


def _bounded(m: re.Match[str]) -> bool:
    return bool(BOUNDED.search(m.string, 0, m.start()))


def _count_timing(m: re.Match[str]) -> Timing | None:
    """'<n> [to <m>] times|doses|infusions per day', 'twice daily', 'once a week'."""
    if _bounded(m):
        return None
    low, high = parse_count(m["n"]), parse_count(m["m"]) if m["m"] else None
    if low is None or (m["m"] and (high is None or high <= low)):
        return None
    return Timing(frequency=low, frequency_max=high, period=Decimal(1), period_unit=_per_unit(m["per"]))


def _divided_timing(m: re.Match[str]) -> Timing | None:
    """'in 2 to 3 divided doses': a daily total split into n [to m] doses, i.e. n [to m] per day."""
    low, high = parse_count(m["n"]), parse_count(m["m"]) if m["m"] else None
    if low is None or (m["m"] and (high is None or high <= low)):
        return None
    return Timing(frequency=low, frequency_max=high, period=Decimal(1), period_unit="d")


def _every_timing(m: re.Match[str]) -> Timing | None:
    """'every 8 hours', 'every 8 to 12 hours', 'q8h', 'every hour' (period 1 implied)."""
    unit = TIME_UNITS[m["unit"].lower().rstrip("s")]
    if _bounded(m):
        return None
    if m["n"] is None:
        return Timing(frequency=1, period=Decimal(1), period_unit=unit)
    low = _period_value(m["n"])
    high = _period_value(m["m"]) if m["m"] else None
    if low is None or (m["m"] and (high is None or high <= low)):
        return None
    return Timing(frequency=1, period=low, period_max=high, period_unit=unit)


def _period_value(text: str) -> Decimal | None:
    count = parse_count(text)
    if count is not None and not text.strip()[0].isdigit():
        return Decimal(count)  # a number word: "every eight hours"
    try:
        return parse_number(text)
    except ValueError:
        return None


def _fixed(frequency: int, unit: PeriodUnit) -> Callable[[re.Match[str]], Timing]:
    return lambda m: Timing(frequency=frequency, period=Decimal(1), period_unit=unit)


# Patterns are tried in this order and a later one may not overlap an earlier match, so "once daily"
# is read once (not again as bare "daily") and "three times daily" wins over "daily".
FREQUENCY_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Timing | None]]] = [
    # "every other day" needs an unwritten 2: claim it so that nothing below reads "day" from it.
    (re.compile(r"\bevery\s+other\s+\w+", re.I), lambda m: None),
    # "2 to 3 times daily", "twice daily", "three times a day", "two to three infusions per day"
    (re.compile(rf"\b(?P<n>{COUNT})(?:{_SPAN}(?P<m>{COUNT}))?\s+(?:(?:times|doses|infusions|injections|"
                rf"administrations)\s+)?(?P<per>{_PER})(?!\s+(?:dose|total|max\w*|limit|amount|intake))", re.I),
     _count_timing),
    # a count that is not a whole number ("2.5 times daily", "several times a day"): claim it, encode nothing
    (re.compile(rf"\S+\s+times\s+{_PER}", re.I), lambda m: None),
    # "divided into 2-3 doses per day" is caught above; "in 2 to 3 divided doses" implies per day
    (re.compile(rf"\bin\s+(?P<n>{COUNT})(?:{_SPAN}(?P<m>{COUNT}))?\s+divided\s+doses\b", re.I), _divided_timing),
    # "every 8 hours", "every 8 to 12 hours", "every eight hours", "every 2 weeks", "every hour"
    (re.compile(rf"\bevery\s+(?:(?P<n>{NUMBER.pattern}|{COUNT})(?:{_SPAN}(?P<m>{NUMBER.pattern}|{COUNT}))?\s*)?"
                rf"{_TIME}\b", re.I), _every_timing),
    # "q8h", "q 8 h", "q8-12h", "q12hr": the Latin abbreviation of "every n hours"
    (re.compile(r"\bq\s?(?P<n>\d+)(?:\s?[-–](?P<m>\d+))?\s?(?P<unit>h|hrs?|hours?)\b", re.I), _every_timing),
    # BID / TID / QID, with or without dots
    (re.compile(r"\bb\.?i\.?d\b\.?", re.I), _fixed(2, "d")),
    (re.compile(r"\bt\.?i\.?d\b\.?", re.I), _fixed(3, "d")),
    (re.compile(r"\bq\.?i\.?d\b\.?", re.I), _fixed(4, "d")),
    # bare "daily", "weekly" (but not "daily dose", "daily total", "daily maximum": those name a
    # quantity, not a schedule), not after "/" or "per" (a unit's denominator: "mg/day")
    (re.compile(r"(?<![/\w])(?<!per )(?P<per>daily|weekly|every\s+day|every\s+week|once\s+a\s+(?:day|week))\b"
                r"(?!\s+(?:dose|doses|dosage|total|max\w*|limit|amount|intake|requirement))", re.I),
     lambda m: Timing(frequency=1, period=Decimal(1), period_unit=_per_unit(m["per"]))),
]

# "for 8 weeks", "for 10 to 14 days", "for two weeks": a course length (Timing.repeat.bounds[x]).
# Only directly after "for": "over 30 minutes" is an infusion time, "up to 8 weeks" is not a bound.
DURATION = re.compile(
    rf"\bfor\s+(?:a\s+(?:period|course|total)\s+of\s+)?(?P<n>{NUMBER.pattern}|{COUNT})"
    rf"(?:{_SPAN}(?P<m>{NUMBER.pattern}|{COUNT}))?\s+{_TIME}\b",
    re.I,
)


def find_frequencies(text: str) -> list[tuple[re.Match[str], Timing | None]]:
    """Every frequency phrase in ``text`` with its reading (None: seen but not encodable)."""
    taken: list[tuple[int, int]] = []
    found: list[tuple[re.Match[str], Timing | None]] = []
    for pattern, build in FREQUENCY_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            taken.append(m.span())
            found.append((m, build(m)))
    return sorted(found, key=lambda f: f[0].start())


def parse_frequency(text: str) -> Timing | None:
    """The one frequency ``text`` states, or None (none, not encodable, or two that differ)."""
    readings = {timing for _, timing in find_frequencies(text)}
    return readings.pop() if len(readings) == 1 else None


def find_durations(text: str) -> list[Timing | None]:
    return [_duration(m) for m in DURATION.finditer(text)]


def _duration(m: re.Match[str]) -> Timing | None:
    unit = TIME_UNITS[m["unit"].lower().rstrip("s")]
    low = _period_value(m["n"])
    high = _period_value(m["m"]) if m["m"] else None
    if low is None or (m["m"] and (high is None or high <= low)):
        return None
    if high is None:
        return Timing(bounds_duration=Quantity(value=low, code=unit, unit=unit))
    return Timing(
        bounds_range=QuantityRange(
            low=Quantity(value=low, code=unit, unit=unit), high=Quantity(value=high, code=unit, unit=unit)
        )
    )


def parse_duration(text: str) -> Timing | None:
    """The course length ``text`` states ("for 8 weeks" -> boundsDuration 8 wk), or None."""
    readings = set(find_durations(text))
    return readings.pop() if len(readings) == 1 else None


def merge(*timings: Timing | None) -> Timing | None:
    """One Timing from a frequency and a duration reading (fields do not overlap)."""
    fields: dict[str, object] = {}
    for timing in timings:
        if timing is not None:
            fields.update({k: v for k, v in timing.model_dump(exclude_none=True).items()})
    return Timing(**fields) if fields else None
