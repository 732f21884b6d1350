"""Golden files: examples/*.md|txt -> examples/output/{r4,r5}/ must be reproduced byte for byte, and
every example bundle must parse with the fhir.resources models of its version.

Regenerate after an intended change with:
    mono2fhir export examples --out examples/output/r4 --fhir-version R4
    mono2fhir export examples --out examples/output/r5 --fhir-version R5
"""

from __future__ import annotations

import json

import pytest
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.R4B.bundle import Bundle as BundleR4
from helpers import EXAMPLES, GOLDEN

VERSIONS = {"R4": BundleR4, "R5": BundleR5}


@pytest.fixture(scope="module", params=sorted(VERSIONS))
def exported(request, tmp_path_factory):
    from click.testing import CliRunner

    from mono2fhir.cli import main

    version = request.param
    out = tmp_path_factory.mktemp(version)
    import os

    cwd = os.getcwd()
    os.chdir(EXAMPLES.parent)
    try:
        result = CliRunner().invoke(main, ["export", "examples", "--out", str(out), "--fhir-version", version])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    return version, out


def test_reexport_is_byte_identical(exported):
    version, out = exported
    golden = GOLDEN / version.lower()
    expected = sorted(p.name for p in golden.iterdir())
    assert sorted(p.name for p in out.iterdir()) == expected
    for name in expected:
        assert (out / name).read_bytes() == (golden / name).read_bytes(), f"{version}/{name} differs from the golden file"


def test_every_example_converts(exported):
    version, out = exported
    monographs = [p for p in EXAMPLES.iterdir() if p.suffix in (".md", ".txt")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["inputs"]) == len(monographs) >= 9
    assert all(not i["errors"] for i in manifest["inputs"])


def test_every_bundle_validates_with_fhir_resources(exported):
    version, out = exported
    for path in sorted(out.glob("*.json")):
        if path.name == "manifest.json":
            continue
        bundle = VERSIONS[version].model_validate_json(path.read_text())
        assert bundle.type == "transaction" and bundle.entry
