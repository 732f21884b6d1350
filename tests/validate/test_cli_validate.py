"""mono2fhir validate on the command line: formats, inputs, exit codes."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mono2fhir.cli import main
from mono2fhir.errors import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"


@pytest.fixture
def run(monkeypatch, known):
    # The CLI's terminology is the shipped mappings/; the valid bundles' codes are given to it here.
    from mono2fhir.validate import inputs

    real = inputs.validate

    monkeypatch.setattr(inputs, "validate", lambda data, version, terminology: real(data, version, known | _codings(terminology)))

    def run_(*args):
        return CliRunner().invoke(main, ["validate", *map(str, args)])
    return run_


def _codings(terminology):
    try:
        return frozenset(terminology.known_codings)
    except Exception:  # noqa: BLE001
        return frozenset()


def test_valid_bundle_exits_0(run):
    result = run(HERE / "valid_r4.json")
    assert result.exit_code == EXIT_OK, result.output
    assert "0 error(s)" in result.stderr


def test_broken_file_exits_1_with_one_line_per_finding(run):
    result = run(HERE / "broken" / "rng-2.json")
    assert result.exit_code == EXIT_SOME_FAILED
    assert "[rng-2]" in result.stdout and "rateRange" in result.stdout


def test_fail_on_warning(run, tmp_path):
    bundle = json.loads((HERE / "valid_r4.json").read_text())
    bundle["entry"][0]["resource"].pop("text")  # dom-6 is a warning
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    assert run(path).exit_code == EXIT_OK
    assert run("--fail-on", "warning", path).exit_code == EXIT_SOME_FAILED


def test_json_format_is_an_operation_outcome_or_a_bundle_of_them(run):
    one = json.loads(run("--format", "json", HERE / "broken" / "rat-1.json").stdout)
    assert one["resourceType"] == "OperationOutcome"
    assert one["issue"][0]["details"]["text"] == "rat-1"
    two = json.loads(run("--format", "json", HERE / "broken" / "rat-1.json", HERE / "valid_r5.json").stdout)
    assert two["resourceType"] == "Bundle" and len(two["entry"]) == 2


def test_ndjson_and_folders(run, tmp_path):
    bundle = json.loads((HERE / "valid_r5.json").read_text())
    nd = tmp_path / "sub" / "all.ndjson"
    nd.parent.mkdir()
    nd.write_text("\n".join(json.dumps(e["resource"]) for e in bundle["entry"]))
    result = run("--fhir-version", "R5", tmp_path)
    assert result.exit_code == EXIT_OK, result.output
    assert "1 input(s), 7 resource(s)" in result.stderr


def test_unreadable_file_is_a_finding_and_others_still_run(run, tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    shutil.copy(HERE / "valid_r4.json", tmp_path / "good.json")
    result = run(tmp_path)
    assert result.exit_code == EXIT_SOME_FAILED
    assert "[input]" in result.stdout and "2 input(s)" in result.stderr


def test_usage_errors_exit_2(run):
    assert run("does-not-exist.json").exit_code == EXIT_USAGE
    assert run("--fhir-version", "R6", HERE / "valid_r4.json").exit_code == EXIT_USAGE


def test_monographs_are_converted_first(run):
    pytest.importorskip("mono2fhir.convert")
    monograph = EXAMPLES / "metformin.md"
    if not monograph.exists():
        pytest.skip("no example monograph")
    for version in ("R4", "R5"):
        result = run("--fhir-version", version, monograph)
        assert result.exit_code == EXIT_OK, result.output
