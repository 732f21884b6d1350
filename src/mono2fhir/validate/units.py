"""Units layer: every Quantity in the UCUM system has a code that parses as UCUM.

Checked with ``ucumvert``, a parser generated from the UCUM grammar and the official
``ucum-essence.xml`` unit table it ships (so prefixes, atoms, annotations and ``/``/``.``
composition are all judged by UCUM itself, not a hand list). The parser is built once, on first
use; each distinct code is parsed once.
"""

from __future__ import annotations

from functools import cache

from .definitions import Node
from .findings import Finding

UCUM = "http://unitsofmeasure.org"
_QUANTITY_TYPES = frozenset({"Quantity", "SimpleQuantity", "Duration", "Age", "Count", "Distance", "MoneyQuantity"})


@cache
def _parser():
    from ucumvert import get_ucum_parser  # builds a lark parser: ~0.4 s, so only when needed

    return get_ucum_parser()


@cache
def ucum_error(code: str) -> str | None:
    """None when ``code`` is a valid UCUM expression, else the parser's complaint (first line)."""
    if not code or code != code.strip():
        return "empty or padded with spaces"
    try:
        _parser().parse(code)
    except Exception as exc:  # noqa: BLE001 - lark raises several error classes; all mean "not UCUM"
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def check_units(nodes: list[Node], rtype: str, rid: str | None) -> list[Finding]:
    findings = []
    for node in nodes:
        if node.type not in _QUANTITY_TYPES or not isinstance(node.value, dict):
            continue
        if node.value.get("system") != UCUM or not isinstance(node.value.get("code"), str):
            continue
        code = node.value["code"]
        problem = ucum_error(code)
        if problem is not None:
            findings.append(Finding(severity="error", resource_type=rtype, resource_id=rid, path=f"{node.path}.code",
                                    message=f"{code!r} is not a valid UCUM code: {problem}", rule="ucum",
                                    source=node.source))
    return findings
