"""Terminology tables: phrases -> codes, loaded from mappings/*.yaml and checked when loaded.

Every code mono2fhir emits comes from these tables; a phrase with no entry stays text. The tables
ship in ``mappings/`` (next to the package); ``--mappings DIR`` adds entries or replaces a table's
entries phrase by phrase (an entry in DIR wins over a shipped entry with the same phrase).

Each table file looks like::

    table: routes
    system: http://snomed.info/sct      # default for the entries
    entries:
      - code: "47625008"
        display: Intravenous route
        phrases: [intravenous, iv, intravenously, infusion]
        checked: SNOMED CT browser, 2025-07 international edition

Units are a table too (``system`` is UCUM); their entries have ``kind: amount | per``.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import MappingError
from .model import Coding, Concept

SHIPPED = Path(__file__).resolve().parent / "mappings"

TABLES = ("sections", "routes", "units", "populations", "monitoring", "drugs", "cud_categories", "fhir_codes")
PATTERNS = ("indication", "no_interactions", "dose_band", "monitoring", "breastfeeding", "monitoring_lead", "monitoring_tail",
            "monitoring_shared_head")


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1)
    display: str | None = None
    system: str | None = None  # falls back to the table's system
    phrases: tuple[str, ...] = Field(min_length=1)
    checked: str | None = None  # where the code was verified
    kind: Literal["amount", "per_weight", "per_time"] | None = None  # units only
    unit: str | None = None  # units only: the human unit written in Quantity.unit

    @field_validator("phrases")
    @classmethod
    def _normalise(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalise_phrase(p) for p in phrases)


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    system: str | None = None
    entries: tuple[Entry, ...] = ()


class PatternTable(BaseModel):
    """``table: patterns``: named lists of regular expressions that classify statements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: Literal["patterns"]
    patterns: dict[str, tuple[str, ...]]

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, regexes in patterns.items():
            for regex in regexes:
                try:
                    re.compile(regex)
                except re.error as exc:
                    raise ValueError(f"pattern {name!r}: {regex!r} is not a regular expression: {exc}") from exc
        return patterns


class Patterns:
    """Compiled statement patterns; ``patterns.matches("monitoring", text)``."""

    def __init__(self, patterns: dict[str, tuple[str, ...]]):
        self._compiled = {name: [re.compile(r, re.IGNORECASE) for r in regexes] for name, regexes in patterns.items()}

    def matches(self, name: str, text: str) -> bool:
        return any(r.search(text) for r in self._compiled[name])

    def strip(self, name: str, text: str) -> str:
        """``text`` with every match of the named patterns removed."""
        for regex in self._compiled[name]:
            text = regex.sub("", text)
        return text.strip()


def normalise_phrase(text: str) -> str:
    """Lower case, single spaces, no surrounding punctuation: the key phrases are matched on."""
    text = text.replace("\u00a0", " ").strip().lower()
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .,:;()*")


class CodeTable:
    """One loaded table: phrase -> entries (at most one per code system), the table's system applied."""

    def __init__(self, name: str, system: str | None, entries: list[Entry]):
        self.name = name
        self._by_phrase: dict[str, list[Entry]] = {}
        for entry in entries:
            if entry.system is None:
                if system is None:
                    raise MappingError(f"table {name!r}: entry {entry.code!r} has no system and the table none")
                entry = entry.model_copy(update={"system": system})
            for phrase in entry.phrases:
                same_phrase = self._by_phrase.setdefault(phrase, [])
                same_phrase[:] = [e for e in same_phrase if e.system != entry.system] + [entry]
        self.entries = list({id(e): e for es in self._by_phrase.values() for e in es}.values())

    def lookup(self, phrase: str) -> Entry | None:
        """The first entry for the phrase (the table's own system first)."""
        found = self._by_phrase.get(normalise_phrase(phrase))
        return found[0] if found else None

    def codings(self, phrase: str) -> tuple[Coding, ...]:
        return tuple(
            Coding(system=e.system or "", code=e.code, display=e.display)
            for e in self._by_phrase.get(normalise_phrase(phrase), [])
        )

    def concept(self, phrase: str, text: str | None = None) -> Concept:
        """A concept whose text is the phrase as written, coded only when the table knows it."""
        return Concept(text=text or phrase.strip(), codings=self.codings(phrase))

    def phrases(self) -> list[str]:
        """All phrases, longest first, so a regex alternation prefers the longest match."""
        return sorted(self._by_phrase, key=len, reverse=True)

    def find_in(self, text: str) -> list[tuple[str, Entry]]:
        """Every table phrase occurring in ``text`` as whole words, longest first, without overlaps."""
        found: list[tuple[str, Entry]] = []
        lowered = normalise_phrase(text)
        taken: list[tuple[int, int]] = []
        for phrase in self.phrases():
            for m in re.finditer(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", lowered):
                if any(m.start() < end and start < m.end() for start, end in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append((m.start(), phrase, self._by_phrase[phrase][0]))  # type: ignore[arg-type]
        return [(phrase, entry) for _, phrase, entry in sorted(found, key=lambda f: f[0])]  # type: ignore[misc]

    def all_codings(self) -> set[tuple[str, str]]:
        return {(e.system or "", e.code) for e in self.entries}


def _load_file(path: Path) -> Table | PatternTable:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("table") == "patterns":
            return PatternTable.model_validate(data)
        return Table.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise MappingError(f"{path}: not a valid mapping table: {exc}") from exc


class Terminology:
    """All tables. ``Terminology.load(extra_dir)`` reads the shipped tables and then ``extra_dir``."""

    def __init__(self, tables: dict[str, CodeTable], patterns: Patterns):
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise MappingError(f"mapping tables missing: {', '.join(missing)}")
        self.tables = tables
        self.patterns = patterns

    @classmethod
    def load(cls, extra_dir: Path | None = None) -> "Terminology":
        raw: dict[str, tuple[str | None, dict[str, Entry]]] = {}
        patterns: dict[str, tuple[str, ...]] = {}
        dirs = [SHIPPED] + ([Path(extra_dir)] if extra_dir else [])
        for directory in dirs:
            if not directory.is_dir():
                raise MappingError(f"{directory}: mappings folder not found")
            for path in sorted(directory.glob("*.yaml")):
                table = _load_file(path)
                if isinstance(table, PatternTable):
                    patterns.update(table.patterns)
                    continue
                system, entries = raw.get(table.table, (None, {}))
                for entry in table.entries:
                    entries[f"{path}:{entry.code}:{entry.phrases[0]}"] = entry
                raw[table.table] = (table.system or system, entries)
        tables = {name: CodeTable(name, system, list(entries.values())) for name, (system, entries) in raw.items()}
        missing = [p for p in PATTERNS if p not in patterns]
        if missing:
            raise MappingError(f"statement patterns missing: {', '.join(missing)}")
        return cls(tables, Patterns(patterns))

    def __getattr__(self, name: str) -> CodeTable:
        try:
            return self.__dict__["tables"][name]
        except KeyError:
            raise AttributeError(name) from None

    @cached_property
    def known_codings(self) -> set[tuple[str, str]]:
        """(system, code) of every coding the tables can produce: the codes layer checks against it."""
        return set().union(*(t.all_codings() for t in self.tables.values()))
