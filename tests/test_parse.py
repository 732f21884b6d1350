"""The monograph parser on each quirk of DESIGN.md §2 and on the bad inputs in tests/bad."""

from __future__ import annotations

import time

import pytest

from mono2fhir.errors import MonographError
from mono2fhir.parse import clean_answer, clean_question, parse_monograph

from helpers import BAD, SEED


def parse(text: str | bytes, terminology, path: str = "t.md"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_monograph(path, data, terminology)


FRONT = "---\ntitle: Testdrug\nis_banned: false\n---\n"


def test_seed_front_matter_and_sections(terminology):
    m = parse(SEED.read_bytes(), terminology, "seed.txt")
    assert m.title == "L-alanyl-L-glutamine" and m.title_line == 2
    assert m.is_banned is False
    assert m.last_modified.isoformat() == "2025-09-22T17:21:53.388000+00:00"
    assert [s.key for s in m.sections] == [
        "usage", "alternate_names", "how_it_works", "dosage", "side_effects", "contraindications",
        "interactions", "pregnancy", "summary", "combinations", "precautions", "faqs"]
    adults = m.find("adults")[0]
    assert adults.line == 124
    assert [i.line for i in adults.items] == [126, 127, 128]
    assert adults.items[0].text.startswith("Intravenous infusion: 0.5 to 1 g/kg/day")


def test_broken_faq_front_matter_is_cleaned(terminology):
    m = parse(SEED.read_bytes(), terminology)
    assert m.faqs[0].question == "What is the recommended dosage for L-alanyl-L-glutamine?"
    assert m.faqs[0].answer.startswith("The standard adult dosage is 0.5 to 1 g/kg/day")
    assert "**" not in m.faqs[0].question and not m.faqs[0].answer.startswith("A:")
    assert m.faqs[0].line == 11


@pytest.mark.parametrize(("raw", "clean"), [
    ("What is it?**\n\n**A:** An answer.", "What is it?"),
    ("What is it?", "What is it?"),
])
def test_clean_question(raw, clean):
    assert clean_question(raw) == clean


@pytest.mark.parametrize(("raw", "clean"), [("A:**  Use it.", "Use it."), ("Use it.", "Use it."), ("**A:** x", "x")])
def test_clean_answer(raw, clean):
    assert clean_answer(raw) == clean


def test_clean_faq_dicts_accepted(terminology):
    m = parse(FRONT.replace("is_banned: false\n", "faqs:\n  - q: Why?\n    a: Because.\n") + "## Usage\n- x\n",
              terminology)
    assert (m.faqs[0].question, m.faqs[0].answer, m.faqs[0].line) == ("Why?", "Because.", 4)


@pytest.mark.parametrize("heading", ["## **Usage**", "## Usage", "## Usage:", "## **Usage**:", "##   usage  "])
def test_headings_with_or_without_bold_and_colon(terminology, heading):
    m = parse(f"{FRONT}{heading}\n- Used for pain.\n", terminology)
    assert m.sections[0].key == "usage" and m.sections[0].title.lower() == "usage"


def test_synonym_and_unknown_sections(terminology):
    m = parse(f"{FRONT}## Adverse Effects\n- Nausea.\n## Storage\n- Keep cool.\n", terminology)
    assert [(s.key, s.title) for s in m.sections] == [("side_effects", "Adverse Effects"), ("other", "Storage")]
    assert m.sections[1].items[0].text == "Keep cool."


def test_crlf_and_bom_give_the_same_monograph(terminology):
    text = f"{FRONT}## Usage\n- **Pharmacological classification**: a, b\n"
    plain = parse(text, terminology)
    crlf_bom = parse(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), terminology)
    assert crlf_bom.sections == plain.sections and crlf_bom.title == plain.title
    assert plain.sections[0].items[0].label == "Pharmacological classification"


def test_title_from_h1_when_front_matter_has_none(terminology):
    m = parse("---\nis_banned: false\n---\n# Levothyroxine\n## Usage\n- x\n", terminology)
    assert (m.title, m.title_line) == ("Levothyroxine", 4)


def test_missing_sections_and_extra_keys_are_fine(terminology):
    m = parse("---\ntitle: X\nextra: 1\n---\n", terminology)
    assert m.sections == () and m.faqs == ()


def test_table_rows_become_items_labelled_by_first_cell(terminology):
    m = parse(f"{FRONT}## Dosage\n| CrCl | Dose |\n|---|---|\n| 30–50 mL/min | 500 mg every 12 hours |\n",
              terminology)
    item = m.sections[0].items[0]
    assert (item.label, item.text, item.line) == ("30–50 mL/min", "500 mg every 12 hours", 8)


def test_nested_bullets_keep_depth_and_continuations_join(terminology):
    m = parse(f"{FRONT}## Dosage\n- **Renal**: adjust\n  - CrCl < 30: 250 mg\n  continued here\n", terminology)
    items = m.sections[0].items
    assert [(i.depth, i.text) for i in items] == [(0, "adjust"), (1, "CrCl < 30: 250 mg continued here")]


@pytest.mark.parametrize(("name", "line", "reason"), [
    ("empty.md", None, "file is empty"),
    ("whitespace_only.md", None, "file is empty"),
    ("binary.md", None, "binary file"),
    ("invalid_yaml.md", 3, "invalid YAML front matter"),
    ("unterminated_front_matter.md", 1, "never closed"),
    ("python_tag.md", 2, "could not determine a constructor"),
    ("alias_bomb.md", 3, "aliases are not allowed"),
    ("wrong_types.md", 4, "'is_banned' must be true or false"),
    ("title_not_string.md", 2, "'title' must be text"),
])
def test_bad_inputs_raise_one_clear_error(terminology, name, line, reason):
    started = time.monotonic()
    with pytest.raises(MonographError) as caught:
        parse(BAD.joinpath(name).read_bytes(), terminology, name)
    assert time.monotonic() - started < 2  # an alias bomb must not expand
    assert caught.value.path == name and caught.value.line == line
    assert reason in caught.value.reason


def test_wrong_types_reports_every_problem(terminology):
    with pytest.raises(MonographError) as caught:
        parse(BAD.joinpath("wrong_types.md").read_bytes(), terminology)
    assert "'faqs' must be a list" in caught.value.reason and "(line 6)" in caught.value.reason


def test_python_tag_is_not_executed(terminology, capfd):
    with pytest.raises(MonographError):
        parse(BAD.joinpath("python_tag.md").read_bytes(), terminology)
    assert "pwned" not in capfd.readouterr().out


def test_file_without_front_matter_is_not_a_monograph(terminology):
    with pytest.raises(MonographError, match="no YAML front matter"):
        parse("# Just a README\n", terminology)


@pytest.mark.parametrize("value", ["'2025-09-22T17:21:53.388Z'", "2025-09-22 17:21:53", "2025-09-22"])
def test_last_modified_string_or_yaml_timestamp(terminology, value):
    m = parse(f"---\ntitle: X\nlastModified: {value}\n---\n", terminology)
    assert m.last_modified.year == 2025 and m.last_modified.tzinfo is not None


def test_last_modified_garbage_is_an_error_with_line(terminology):
    with pytest.raises(MonographError) as caught:
        parse("---\ntitle: X\nlastModified: yesterday\n---\n", terminology)
    assert caught.value.line == 3


def test_impossible_date_is_a_clear_error(terminology):
    with pytest.raises(MonographError, match="invalid value in YAML front matter: month must be in 1..12"):
        parse("---\ntitle: X\nlastModified: 2025-13-45\n---\n", terminology)
