"""Monitoring parameters from prose: "Monitor renal and hepatic function, electrolytes, and fluid
balance." -> renal function, hepatic function, electrolytes, fluid balance.

Pure text handling; codes come later from the monitoring table.
"""

from __future__ import annotations

import re

from ..terminology import Patterns

# Separators between parameters in a list.
LIST_SEPARATORS = re.compile(r"\s*(?:,|;|\band\b|\bor\b|\bas well as\b|\balong with\b|\bplus\b)\s*", re.IGNORECASE)
MAX_WORDS = 5  # a longer "parameter" is a clause the splitter did not understand: keep it as prose


def split_parameters(text: str, patterns: Patterns) -> list[str]:
    """The parameter names in one sentence, with a shared head noun distributed:
    "renal and hepatic function" -> ["renal function", "hepatic function"]."""
    text = text.strip().rstrip(".")
    text = patterns.strip("monitoring_lead", text)
    text = patterns.strip("monitoring_tail", text)
    parts = [p.strip() for p in LIST_SEPARATORS.split(text) if p and p.strip()]
    names: list[str] = []
    pending: list[str] = []  # single words waiting for the head noun of the next part
    for part in parts:
        part = patterns.strip("monitoring_lead", part)
        part = patterns.strip("monitoring_tail", part)
        if not part:
            continue
        words = part.split()
        if len(words) == 1 and part.lower() not in _STANDALONE:
            pending.append(part)
            continue
        if pending and len(words) >= 2 and patterns.matches("monitoring_shared_head", words[-1]):
            head = " ".join(words[1:])
            names.extend(f"{word} {head}" for word in pending)
        else:
            names.extend(pending)
        pending = []
        names.append(part)
    names.extend(pending)
    return [n for n in names if re.search(r"[A-Za-z]", n) and len(n.split()) <= MAX_WORDS]


def sentences(text: str) -> list[str]:
    """Sentences and semicolon clauses: "Monitor X; stop if Y." asks to monitor X only."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|;\s*", text) if s.strip()]


# Single-word parameters that need no head noun.
_STANDALONE = {
    "electrolytes", "electrolyte", "glucose", "creatinine", "potassium", "sodium", "calcium", "magnesium",
    "inr", "tsh", "platelets", "hba1c", "cbc", "weight", "hearing", "bleeding", "hydration", "hemoglobin",
    "haemoglobin", "aptt", "anti-xa", "bun", "phosphate",
}
