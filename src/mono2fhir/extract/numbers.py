"""Numbers as written in monographs: digits with thousands separators, decimals, number words, ranges.

Every value is a ``Decimal`` built from the source digits (never a float), so "0.5" stays 0.5 and
"1,000" becomes exactly 1000: clinical fidelity forbids round-trips through binary floating point.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# A number as written: "2,550", "1,000.5", "0.5", "12". Thousands groups must be exactly three digits,
# so a European decimal comma ("1,5") is *not* read as 15 or 1.5: it matches nothing (too risky to guess).
# The look-behind keeps ".5" from being read as 5 and "B12" from yielding 12; the look-ahead refuses a
# number that continues with a separator and more digits (the "1" of "1,5" or "1.2.3").
NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![.,]?\d)")

# The words a range is written with between two numbers: "0.5 to 1", "2-3", "1,000–2,000" (en dash),
# "8—12" (em dash). "and" only counts after "between", which callers check themselves.
RANGE_SEP = re.compile(r"\s*(?:to|-|–|—)\s*", re.IGNORECASE)

# Number words that may stand for a count in frequencies ("twice daily", "two to three infusions").
# These are the only numbers allowed in the output that are not digits in the source.
WORDS: dict[str, int] = {
    "once": 1, "twice": 2, "thrice": 3,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip

# A whole count written in digits or as a word: the building block of frequency patterns. The
# look-arounds keep "2.5 times" from being read as "5 times" and "twice" from matching inside words.
COUNT = r"(?<![\w.,])(?:\d+(?![.,]\d)|" + "|".join(sorted(WORDS, key=len, reverse=True)) + r")\b"


def parse_number(text: str) -> Decimal:
    """The exact value of a number as written: "2,550" -> 2550, "0.5" -> Decimal("0.5").

    Raises ``ValueError`` for anything that is not one whole number (e.g. "1,5", "abc", "").
    """
    text = text.strip()
    if not NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {text!r}")
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - NUMBER already guarantees the syntax
        raise ValueError(f"not a number: {text!r}") from exc


def parse_count(text: str) -> int | None:
    """A whole count from digits or a number word ("twice" -> 2, "3" -> 3); None if not whole."""
    word = text.strip().lower()
    if word in WORDS:
        return WORDS[word]
    try:
        value = parse_number(word)
    except ValueError:
        return None
    return int(value) if value == value.to_integral_value() and "." not in word else None

