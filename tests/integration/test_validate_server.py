"""``mono2fhir validate --server``: HAPI's $validate as the last validation layer."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers import GOLDEN

from mono2fhir.cli import main
from mono2fhir.errors import EXIT_OK, EXIT_SERVER, EXIT_SOME_FAILED


@pytest.fixture(params=["R4", "R5"])
def server(request):
    return request.getfixturevalue(f"hapi_{request.param.lower()}_url"), request.param


def run(*args):
    return CliRunner().invoke(main, ["validate", *map(str, args)], catch_exceptions=False)


def test_every_example_bundle_passes_the_server(server):
    url, version = server
    result = run(GOLDEN / version.lower(), "--server", url, "--format", "json")
    assert result.exit_code == EXIT_OK, result.stdout[-3000:]
    bundle = json.loads(result.stdout)
    issues = [i for e in bundle["entry"] for i in e["resource"].get("issue", [])]
    assert not [i for i in issues if i["severity"] in ("error", "fatal")]
    warnings = [i["diagnostics"] for i in issues if i.get("details", {}).get("text") == "server"]
    if version == "R4":  # HAPI 8.8 cannot check LOINC, ATC or RxNorm offline and says so
        assert warnings and all("CodeSystem is unknown and can't be validated" in w for w in warnings)
    else:
        assert warnings == []


def test_server_errors_are_findings_with_the_resource(server, tmp_path):
    url, version = server
    broken = {"resourceType": "MedicationKnowledge", "id": "broken", "status": "active",
              "code": {"text": "X"},
              "monitoringProgram": [{"name": "x", "type": {"coding": [{"system": "http://unitsofmeasure.org",
                                                                        "code": "mg"}]}}],
              "extension": [{"url": "http://mono2fhir.org/fhir/StructureDefinition/source-location",
                             "valueString": "x.md:7"}]}
    # An extension with a value of the wrong kind for its definition is not enough for HAPI; an
    # unknown element is: HAPI reports it as an error.
    broken["notAnElement"] = True
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = run(path, "--server", url, "--fhir-version", version)
    assert result.exit_code == EXIT_SOME_FAILED
    server_lines = [line for line in result.stdout.splitlines() if "server" in line and "error" in line]
    assert server_lines and "MedicationKnowledge/broken" in server_lines[0] and "x.md:7" in server_lines[0]


def test_unreachable_server_exits_3(tmp_path):
    result = run(GOLDEN / "r4" / "metformin.json", "--server", "http://127.0.0.1:9/fhir", "--retries", "0")
    assert result.exit_code == EXIT_SERVER
    assert "error:" in result.stderr and "Traceback" not in result.stderr
