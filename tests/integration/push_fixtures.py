"""Fixtures and helpers for the push integration tests (import them into the test module).

- ``hapi``: a running HAPI server for R4 and for R5 (parametrised), from the session fixtures
  ``hapi_r4_url`` / ``hapi_r5_url`` of tests/integration/conftest.py, or, where that conftest does not
  provide them, from env ``MONO2FHIR_TEST_HAPI_R4`` / ``_R5`` (a test is skipped when neither exists).
- ``corpus``: the examples as one transaction bundle file per monograph in a tmp folder, with every id
  given a per-test suffix so that tests sharing one server never see each other's resources.
  Monographs go through ``mono2fhir.convert.convert_file``; while the converter does not exist, a
  small hand-made bundle per example stands in (``Corpus.converted`` says which).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from mono2fhir import ids

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MONOGRAPH_GLOBS = ("*.md", "*.txt")


@dataclass
class Hapi:
    version: str
    url: str  # the FHIR base, .../fhir

    def get(self, path: str, **params) -> dict:
        r = requests.get(f"{self.url}/{path}", params=params, headers={"Cache-Control": "no-cache"}, timeout=60)
        r.raise_for_status()
        return r.json()

    def version_count(self, type_id: str) -> int:
        bundle = self.get(f"{type_id}/_history", _count=100)
        return len(bundle.get("entry") or [])


def _server_url(request, version: str) -> str:
    name = f"hapi_{version.lower()}_url"
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        url = os.environ.get(f"MONO2FHIR_TEST_HAPI_{version}")
        if not url:
            pytest.skip(f"no HAPI {version} server: tests/integration/conftest.py has no {name} fixture and "
                        f"MONO2FHIR_TEST_HAPI_{version} is not set")
        return url


@pytest.fixture(params=["R4", "R5"])
def hapi(request) -> Hapi:
    return Hapi(request.param, _server_url(request, request.param).rstrip("/"))


# --------------------------------------------------------------------------- the corpus


def converter():
    """``convert_file`` when the converter exists, else None."""
    try:
        from mono2fhir.convert import convert_file
    except ImportError:
        return None
    return convert_file


def monograph_paths() -> list[Path]:
    return sorted(p for g in MONOGRAPH_GLOBS for p in EXAMPLES.glob(g))


def suffix_ids(bundle: dict, suffix: str) -> dict:
    """The bundle with ``-<suffix>`` appended to every resource id, fullUrls and references redone."""
    bundle = json.loads(json.dumps(bundle))
    mapping = {}
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        resource["id"] = f"{resource['id'][: 64 - len(suffix) - 1]}-{suffix}"
        new_url = ids.full_url(resource["resourceType"], resource["id"])
        mapping[entry["fullUrl"]] = new_url
        entry["fullUrl"] = new_url
        if "request" in entry:
            entry["request"]["url"] = f"{resource['resourceType']}/{resource['id']}"
    text = json.dumps(bundle)
    for old, new in mapping.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    return json.loads(text)


def handmade_bundle(title: str, version: str, dose: str = "500 mg twice daily") -> dict:
    """A small valid transaction bundle for one monograph (stands in for the converter)."""
    slug = ids.slug(title)
    mk_id, doc_id, prov_id = slug, f"{slug}-doc", f"{slug}-prov"
    mk_url, doc_url = ids.full_url("MedicationKnowledge", mk_id), ids.full_url("DocumentReference", doc_id)
    text = f"# {title}\n\n## Dosage\n- {dose}\n"
    doc = {"resourceType": "DocumentReference", "id": doc_id, "status": "current",
           "content": [{"attachment": {"contentType": "text/markdown", "title": title,
                                       "data": base64.b64encode(text.encode()).decode()}}]}
    mk = {"resourceType": "MedicationKnowledge", "id": mk_id, "status": "active",
          "code": {"text": title},
          "monograph": [{"source": {"reference": doc_url}}],
          "administrationGuidelines" if version == "R4" else "indicationGuideline":
              [{"dosage": [{"type": {"text": "adult"}, "dosage": [{"text": dose}]}]}] if version == "R4" else
              [{"dosingGuideline": [{"dosage": [{"type": {"text": "adult"}, "dosage": [{"text": dose}]}]}]}]}
    prov = {"resourceType": "Provenance", "id": prov_id, "recorded": "2025-08-14T10:02:31.120Z",
            "target": [{"reference": mk_url}],
            "agent": [{"who": {"display": "mono2fhir"}}],
            "entity": [{"role": "source", "what": {"reference": doc_url}}]}
    entries = [{"fullUrl": ids.full_url(r["resourceType"], r["id"]), "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in (doc, mk, prov)]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _title(path: Path) -> str:
    match = re.search(r"^title:\s*(.+)$", path.read_text(encoding="utf-8-sig"), re.M)
    return match.group(1).strip().strip("'\"") if match else path.stem


@dataclass
class Corpus:
    folder: Path  # one <stem>.json bundle per monograph
    version: str
    suffix: str
    converted: bool
    files: dict[str, Path] = field(default_factory=dict)  # monograph stem -> bundle file

    def bundle(self, stem: str) -> dict:
        return json.loads(self.files[stem].read_text())

    def keys(self, stem: str | None = None) -> list[str]:
        stems = [stem] if stem else list(self.files)
        return [f"{e['resource']['resourceType']}/{e['resource']['id']}" for s in stems for e in self.bundle(s)["entry"]]

    def write(self, stem: str, bundle: dict) -> None:
        path = self.folder / f"{stem}.json"
        path.write_text(json.dumps(bundle, indent=1, ensure_ascii=False), encoding="utf-8")
        self.files[stem] = path

    def change_dose(self, stem: str, tmp: Path) -> None:
        """Copy the monograph to ``tmp``, edit one dose line, convert it again (or rebuild the hand-made
        bundle with another dose) and overwrite its bundle file."""
        source = next(p for p in monograph_paths() if p.stem == stem)
        convert = converter()
        if convert is None:
            self.write(stem, suffix_ids(handmade_bundle(_title(source), self.version, "850 mg once daily"),
                                        self.suffix))
            return
        copy = tmp / source.name
        shutil.copy(source, copy)
        text = copy.read_text(encoding="utf-8-sig")
        changed = re.sub(r"\b500 mg\b", "750 mg", text, count=1)
        if changed == text:  # no "500 mg": change the first number followed by mg in a bullet
            changed = re.sub(r"(?m)^(\s*[-*].*?)(\d+)(\s*mg\b)", lambda m: f"{m[1]}{int(m[2]) + 1}{m[3]}", text,
                             count=1)
        assert changed != text, f"found no dose line to change in {source}"
        copy.write_text(changed, encoding="utf-8")
        self.write(stem, suffix_ids(_bundle(convert(copy, self.version, _terminology())), self.suffix))


_TERMINOLOGY = None


def _bundle(conversion) -> dict:
    bundle = conversion.bundle
    return bundle("transaction") if callable(bundle) else bundle


def _terminology():
    global _TERMINOLOGY
    if _TERMINOLOGY is None:
        from mono2fhir.terminology import Terminology

        _TERMINOLOGY = Terminology.load()
    return _TERMINOLOGY


def make_corpus(folder: Path, version: str, suffix: str | None = None, stems: list[str] | None = None) -> Corpus:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = suffix or uuid.uuid4().hex[:8]
    convert = converter()
    corpus = Corpus(folder, version, suffix, converted=convert is not None)
    for path in monograph_paths():
        if stems and path.stem not in stems:
            continue
        if convert is not None:
            bundle = _bundle(convert(path, version, _terminology()))
        else:
            bundle = handmade_bundle(_title(path), version)
        corpus.write(path.stem, suffix_ids(bundle, suffix))
    return corpus


@pytest.fixture
def corpus(hapi, tmp_path) -> Corpus:
    return make_corpus(tmp_path / "bundles", hapi.version)
