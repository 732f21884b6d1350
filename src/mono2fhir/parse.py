"""Parse a monograph file (YAML front matter + Markdown) into a ``Monograph``, keeping source lines.

Copes with the quirks real files have (DESIGN.md §2): bold or plain headings with trailing colons,
section-name synonyms, the broken FAQ front matter (``q`` = "question?**\\n\\n**A:** answer"), CRLF,
a BOM, missing sections and keys, Markdown tables. Bad input raises ``MonographError`` naming the file
and, where known, the line. YAML is loaded safely and aliases are refused outright: monographs never
need them, and refusing them is the simplest guard against alias bombs.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone
from typing import Any

import frontmatter
import yaml

from .errors import MonographError
from .model import Faq, Item, Monograph, Section
from .terminology import Terminology

MAX_BYTES = 5 * 1024 * 1024  # a monograph is a few KB; anything this large is not one

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
BULLET = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
TABLE_RULE = re.compile(r"^[\s|:\-]+$")
# "**Label:** text", "**Label**: text", "**Label** - text"
BOLD_LABEL = re.compile(r"^\*\*(?P<label>[^*]+?)\s*:?\s*\*\*\s*[:\-–]?\s*(?P<text>.*)$")
EMPHASIS = re.compile(r"(\*\*|__|\*|`)")


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses YAML aliases (billion-laughs bombs) and Python tags (SafeLoader)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                "while reading front matter", None, "YAML aliases are not allowed in monographs", event.start_mark
            )
        return super().compose_node(parent, index)


class _Handler(frontmatter.YAMLHandler):
    def load(self, fm: str, **kwargs: Any) -> Any:
        return yaml.load(fm, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def clean_inline(text: str) -> str:
    """Drop Markdown emphasis and collapse whitespace; the words stay exactly as written."""
    return re.sub(r"\s+", " ", EMPHASIS.sub("", text)).strip()


def heading_title(raw: str) -> str:
    return clean_inline(raw).rstrip(":").strip()


def decode(path: str, data: bytes) -> str:
    if not data.strip():
        raise MonographError(path, "file is empty")
    if len(data) > MAX_BYTES:
        raise MonographError(path, f"file is {len(data)} bytes; a monograph is at most {MAX_BYTES}")
    if b"\x00" in data:
        raise MonographError(path, "binary file (contains NUL bytes), not a Markdown monograph")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MonographError(path, "not UTF-8 text", line) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(path: str, text: str) -> tuple[dict[str, Any], str, int]:
    """(metadata, body, line number of the body's first line)."""
    if not text.startswith("---"):
        raise MonographError(path, "no YAML front matter ('---' on the first line): not a monograph", 1)
    handler = _Handler()
    if len(handler.FM_BOUNDARY.findall(text)) < 2:
        raise MonographError(path, "front matter opened with '---' is never closed", 1)
    fm, body = handler.split(text)
    try:
        meta = handler.load(fm)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None  # fm starts with the rest of file line 1
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise MonographError(path, f"invalid YAML front matter: {problem}", line) from exc
    except yaml.YAMLError as exc:
        raise MonographError(path, f"invalid YAML front matter: {exc}", 1) from exc
    except (ValueError, TypeError, OverflowError) as exc:  # a YAML value its constructor rejects (2025-13-45)
        raise MonographError(path, f"invalid value in YAML front matter: {exc}", 1) from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise MonographError(path, "front matter must be a mapping of keys to values", 2)
    body_line = text[: len(text) - len(body)].count("\n") + 1
    return meta, body, body_line


def key_line(text: str, key: str) -> int | None:
    m = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text[: m.start()].count("\n") + 1 if m else None


def parse_faqs(path: str, text: str, value: Any) -> tuple[Faq, ...]:
    if value is None:
        return ()
    line = key_line(text, "faqs")
    if not isinstance(value, list):
        raise MonographError(path, f"'faqs' must be a list of {{q, a}}, not {type(value).__name__}", line)
    q_lines = [text[: m.start()].count("\n") + 1 for m in re.finditer(r"^\s*-\s*q\s*:", text, re.MULTILINE)]
    faqs = []
    for i, entry in enumerate(value):
        at = q_lines[i] if i < len(q_lines) else line or 1
        if not isinstance(entry, dict) or not isinstance(entry.get("q"), str) or not isinstance(entry.get("a", ""), str):
            raise MonographError(path, f"faqs[{i}] must have text 'q' and 'a'", at)
        faqs.append(Faq(question=clean_question(entry["q"]), answer=clean_answer(entry.get("a") or ""), line=at))
    return tuple(faqs)


def clean_question(q: str) -> str:
    """'What is X?**\\n\\n**A:** answer' -> 'What is X?' (the artefact of a broken export)."""
    return clean_inline(q.split("**", 1)[0])


def clean_answer(a: str) -> str:
    """'A:** answer' -> 'answer'."""
    return clean_inline(re.sub(r"^\s*\**\s*A\s*:\s*\**", "", a))


def parse_last_modified(path: str, text: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise MonographError(path, f"'lastModified' is not an ISO 8601 date-time: {value!r}", key_line(text, "lastModified"))


def parse_body(body: str, first_line: int, terminology: Terminology) -> tuple[list[Section], str | None, int | None]:
    """Sections (nested by heading level) and the first H1 (title fallback) with its line."""
    root: list[Section] = []
    # A stack of (level, title, key, line, items, children) built as lists, frozen at the end.
    stack: list[dict[str, Any]] = []
    h1: tuple[str, int] | None = None
    preamble: list[Item] = []
    table_header: list[str] | None = None

    def close(upto_level: int) -> None:
        while stack and stack[-1]["level"] >= upto_level:
            node = stack.pop()
            section = Section(key=node["key"], title=node["title"], level=node["level"], line=node["line"],
                              items=tuple(node["items"]), subsections=tuple(node["children"]))
            (stack[-1]["children"] if stack else root).append(section)

    for offset, raw in enumerate(body.split("\n")):
        line = first_line + offset
        heading = HEADING.match(raw)
        if heading:
            table_header = None
            level, title = len(heading.group(1)), heading_title(heading.group(2))
            if level == 1:
                if h1 is None:
                    h1 = (title, line)
                continue
            close(level)
            entry = terminology.sections.lookup(title)
            parent_key = stack[-1]["key"] if stack else None
            key = entry.code if entry else ("faq" if parent_key in ("faqs", "faq") else "other")
            stack.append({"level": level, "title": title, "key": key, "line": line, "items": [], "children": []})
            continue
        if not raw.strip():
            continue
        items = stack[-1]["items"] if stack else preamble
        row = TABLE_ROW.match(raw)
        if row:
            cells = [clean_inline(c) for c in row.group(1).split("|")]
            if TABLE_RULE.match(raw):
                continue
            if table_header is None:
                table_header = cells
                continue
            label, rest = cells[0], [c for c in cells[1:] if c]
            items.append(Item(text="; ".join(rest) or label, label=label or None, line=line))
            continue
        table_header = None
        bullet = BULLET.match(raw)
        if bullet or not items or raw.lstrip().startswith("**"):
            depth = len(bullet.group("indent").expandtabs(4)) // 2 if bullet else 0
            items.append(make_item(bullet.group("text") if bullet else raw, line, min(depth, 3)))
        else:  # a continuation of the previous bullet or paragraph
            prev = items[-1]
            items[-1] = prev.model_copy(update={"text": clean_inline(prev.text + " " + raw)})
    close(0)
    if preamble:
        root.insert(0, Section(key="other", title="(before the first heading)", level=2,
                               line=preamble[0].line, items=tuple(preamble)))
    return root, (h1[0] if h1 else None), (h1[1] if h1 else None)


def make_item(raw: str, line: int, depth: int = 0) -> Item:
    m = BOLD_LABEL.match(raw.strip())
    if m and m.group("label").strip():
        label = clean_inline(m.group("label")).rstrip(":").strip()
        return Item(text=clean_inline(m.group("text")), label=label, line=line, depth=depth)
    return Item(text=clean_inline(raw), line=line, depth=depth)


def check_front_matter(path: str, text: str, meta: dict[str, Any]) -> None:
    """Every wrong type at once, so a user fixes a file in one go."""
    problems: list[tuple[int | None, str]] = []
    title = meta.get("title")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        problems.append((key_line(text, "title"), f"'title' must be text, not {type(title).__name__}"))
    banned = meta.get("is_banned", False)
    if not isinstance(banned, bool):
        problems.append((key_line(text, "is_banned"), f"'is_banned' must be true or false, not {banned!r}"))
    description = meta.get("description")
    if description is not None and not isinstance(description, str):
        problems.append((key_line(text, "description"), "'description' must be text"))
    faqs = meta.get("faqs")
    if faqs is not None and not isinstance(faqs, list):
        problems.append((key_line(text, "faqs"), f"'faqs' must be a list of {{q, a}}, not {faqs!r:.40}"))
    if problems:
        line = problems[0][0]
        reason = "; ".join(msg if at in (None, line) else f"{msg} (line {at})" for at, msg in problems)
        raise MonographError(path, reason, line)


def parse_monograph(path: str, data: bytes, terminology: Terminology) -> Monograph:
    """Parse one monograph's bytes; ``path`` is only used for messages and provenance."""
    text = decode(path, data)
    meta, body, body_line = split_front_matter(path, text)
    check_front_matter(path, text, meta)
    sections, h1, h1_line = parse_body(body, body_line, terminology)

    title = meta.get("title")
    if title is None:
        if not h1:
            raise MonographError(path, "no 'title' in front matter and no '# Title' heading")
        title, title_line = h1, h1_line or 1
    else:
        title_line = key_line(text, "title") or 1
    description = meta.get("description")
    return Monograph(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        raw=data,
        title=clean_inline(title),
        title_line=title_line,
        description=clean_inline(description) if description else None,
        is_banned=meta.get("is_banned", False),
        last_modified=parse_last_modified(path, text, meta.get("lastModified")),
        faqs=parse_faqs(path, text, meta.get("faqs")),
        sections=tuple(sections),
    )
