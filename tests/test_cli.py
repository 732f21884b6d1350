"""The CLI contract: exit codes, messages on stderr, nothing written outside --out, output formats."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import BAD, EXAMPLES, SEED

from mono2fhir.errors import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE

BAD_FILES = sorted(p.name for p in BAD.iterdir() if p.name not in ("README.md", "traversal_title.md", "valid_minimal.md"))


def test_help_lists_every_command(run_cli):
    result = run_cli("--help")
    assert result.exit_code == 0
    for command in ("export", "inspect"):
        assert command in result.stdout
        assert run_cli(command, "--help").exit_code == 0


def test_export_of_a_mixed_folder(run_cli, tmp_path):
    """Good files convert, every bad file is named with a one-line reason, no traceback, nothing
    escapes --out, and the manifest records both."""
    inputs = tmp_path / "in"
    shutil.copytree(BAD, inputs)
    shutil.copy(SEED, inputs / "seed.txt")
    out = tmp_path / "out"
    result = run_cli("export", inputs, "--out", out)
    assert result.exit_code == EXIT_SOME_FAILED
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(BAD_FILES)
    for name in BAD_FILES:
        assert sum(name in line for line in errors) == 1, name
    written = sorted(p.name for p in out.iterdir())
    assert written == ["l-alanyl-l-glutamine.json", "manifest.json", "paracetamol.json", "x.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # ../../x stayed inside
    manifest = json.loads((out / "manifest.json").read_text())
    failed = {i["path"].rsplit("/", 1)[-1] for i in manifest["inputs"] if i["errors"]}
    assert failed == set(BAD_FILES)
    assert "3 of 12 monograph(s) converted" in result.stderr


def test_traversal_title_keeps_its_text_but_not_its_path(run_cli, tmp_path):
    result = run_cli("export", BAD / "traversal_title.md", "--out", tmp_path)
    assert result.exit_code == EXIT_OK, result.stderr
    bundle = json.loads((tmp_path / "x.json").read_text())
    mk = bundle["entry"][0]["resource"]
    assert mk["id"] == "x" and mk["code"]["text"] == "../../x"


def test_usage_errors_exit_2(run_cli, tmp_path):
    assert run_cli("export", "no-such-file.md", "--out", tmp_path).exit_code == EXIT_USAGE
    assert run_cli("export", SEED, "--out", tmp_path, "--fhir-version", "R3").exit_code == EXIT_USAGE
    assert run_cli("export", SEED).exit_code == EXIT_USAGE  # --out missing


def mappings_folder(tmp_path, name: str, text: str):
    """A --mappings folder holding one table."""
    folder = tmp_path / "maps"
    folder.mkdir()
    (folder / name).write_text(text)
    return folder


def test_bad_mappings_folder_is_a_usage_error(run_cli, tmp_path):
    mappings = mappings_folder(tmp_path, "routes.yaml", "table: routes\nentries: [{code: 1}]\n")
    result = run_cli("export", SEED, "--out", tmp_path / "out", "--mappings", mappings)
    assert result.exit_code == EXIT_USAGE
    assert "routes.yaml" in result.stderr and "Traceback" not in result.stderr


def test_mappings_folder_adds_a_code(run_cli, tmp_path):
    mappings = mappings_folder(
        tmp_path, "monitoring.yaml", "table: monitoring\nsystem: http://loinc.org\nentries:\n"
        "  - {code: 'TEST-1', display: Fluid balance, phrases: [fluid balance], checked: test}\n")
    result = run_cli("export", SEED, "--out", tmp_path / "out", "--mappings", mappings)
    assert result.exit_code == EXIT_OK, result.stderr
    mk = json.loads((tmp_path / "out" / "l-alanyl-l-glutamine.json").read_text())["entry"][0]["resource"]
    fluid = next(p for p in mk["monitoringProgram"] if p["name"] == "fluid balance")
    assert fluid["type"]["coding"][0]["code"] == "TEST-1"


def test_ndjson_output_uses_plain_references(run_cli, tmp_path):
    result = run_cli("export", SEED, EXAMPLES / "metformin.md", "--out", tmp_path, "--format", "ndjson")
    assert result.exit_code == EXIT_OK, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["DetectedIssue.ndjson", "DocumentReference.ndjson", "MedicationKnowledge.ndjson",
                     "Provenance.ndjson", "manifest.json"]
    lines = (tmp_path / "MedicationKnowledge.ndjson").read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["contraindication"][0]["reference"].startswith("DetectedIssue/")


@pytest.mark.parametrize("bundle_type", ["transaction", "batch", "collection"])
def test_single_file_bundle_types(run_cli, tmp_path, bundle_type):
    result = run_cli("export", SEED, EXAMPLES / "metformin.md", "--out", tmp_path, "--single-file",
                     "--bundle-type", bundle_type)
    assert result.exit_code == EXIT_OK, result.stderr
    bundle = json.loads((tmp_path / "bundle.json").read_text())
    assert bundle["type"] == bundle_type
    entry = bundle["entry"][0]
    assert entry["fullUrl"].startswith("urn:uuid:")
    assert ("request" in entry) == (bundle_type != "collection")
    reference = entry["resource"]["monograph"][0]["source"]["reference"]
    assert reference.startswith("DocumentReference/" if bundle_type == "batch" else "urn:uuid:")


def test_parallel_jobs_give_the_same_bytes(run_cli, tmp_path):
    assert run_cli("export", "examples", "--out", tmp_path / "one").exit_code == EXIT_OK
    assert run_cli("export", "examples", "--out", tmp_path / "two", "--jobs", "2").exit_code == EXIT_OK
    for path in sorted((tmp_path / "one").iterdir()):
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes(), path.name


def test_inspect_shows_placements_and_unmapped(run_cli):
    result = run_cli("inspect", SEED)
    assert result.exit_code == EXIT_OK
    assert "administrationGuidelines.dosage.dosage (structured)" in result.stdout
    assert "rate 0.5-1 g/kg/d; 2-3 per 1 d; max 1.5 g/kg per 1 d" in result.stdout
    assert "monitoring: fluid balance" in result.stdout


def test_inspect_bad_file_exits_1_with_location(run_cli):
    result = run_cli("inspect", BAD / "invalid_yaml.md")
    assert result.exit_code == EXIT_SOME_FAILED
    assert "invalid_yaml.md:3:" in result.stderr and "Traceback" not in result.stderr


def test_export_refuses_invalid_bundles_unless_allowed(run_cli, tmp_path):
    """A --mappings table that maps "mg" to a code that is not UCUM makes the units layer fail."""
    mappings = mappings_folder(
        tmp_path, "units.yaml", "table: units\nsystem: http://unitsofmeasure.org\nentries:\n"
        "  - {code: milligramme, unit: mg, kind: amount, phrases: [mg], checked: deliberately wrong}\n")
    metformin = EXAMPLES / "metformin.md"
    refused = run_cli("export", metformin, "--out", tmp_path / "refused", "--mappings", mappings)
    assert refused.exit_code == EXIT_SOME_FAILED
    assert "validation error(s), not written" in refused.stderr and "ucum" in refused.stderr
    assert not (tmp_path / "refused" / "metformin.json").exists()
    allowed = run_cli("export", metformin, "--out", tmp_path / "allowed", "--mappings", mappings, "--allow-invalid")
    assert allowed.exit_code == EXIT_OK
    assert "validation error(s) written anyway" in allowed.stderr
    assert "milligramme" in (tmp_path / "allowed" / "metformin.json").read_text()
