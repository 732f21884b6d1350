import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# The codings the hand-made valid bundles use that come from mappings/ (routes, populations,
# monitoring, drugs): passed as the terminology so these tests do not depend on the tables' content.
KNOWN = frozenset({
    ("http://snomed.info/sct", "47625008"),
    ("http://snomed.info/sct", "133936004"),
    ("http://loinc.org", "24362-6"),
    ("http://www.whocc.no/atc", "B05XB02"),
})


@pytest.fixture
def valid_bundle():
    def load(version: str) -> dict:
        return json.loads((HERE / f"valid_{version.lower()}.json").read_text())
    return load


@pytest.fixture
def known():
    return KNOWN
