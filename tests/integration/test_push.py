"""mono2fhir push against real HAPI FHIR JPA servers (R4 and R5), directly and through a local proxy
that injects faults or checks a bearer token.

Every test pushes its own copy of the examples with a per-test id suffix (see push_fixtures), so the
tests can share one server in any order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mono2fhir import client
from mono2fhir.push import PushOptions, PushReport, push

sys.path.insert(0, str(Path(__file__).parent))
from faultproxy import FaultProxy  # noqa: E402
from push_fixtures import ROOT, Corpus, Hapi, corpus, hapi, make_corpus  # noqa: E402,F401

pytestmark = pytest.mark.integration

TOKEN = "right-token-0f3c9a"
WRONG = "wrong-token-77d1e2"


def run(inputs, server: str, **kw) -> PushReport:
    client_kw = {k: kw.pop(k) for k in list(kw) if k in ("retries", "read_timeout", "backoff_factor")}
    client_kw.setdefault("backoff_factor", 0.2)
    return push(inputs, PushOptions(server=server, client=client.ClientOptions(**client_kw), **kw))


def assert_clean(report: PushReport) -> None:
    assert report.failures == [], report.failures[:3]
    assert report.failed == 0
    assert report.differences == [], report.differences[:3]


def through(proxy: FaultProxy, hapi: Hapi) -> str:
    return proxy.url + urlsplit(hapi.url).path


# --------------------------------------------------------------------------- push, verify, re-push


def test_push_every_example_verify_then_nothing_changes(hapi, corpus):
    keys = corpus.keys()
    first = run([corpus.folder], hapi.url, verify=True, batch_size=25, jobs=2)
    assert_clean(first)
    assert first.total == len(keys) and first.created == len(keys), first
    assert first.verified == len(keys)
    assert {e.monograph for e in first.entries} == {str(p) for p in corpus.files.values()}
    second = run([corpus.folder], hapi.url, batch_size=25, jobs=2)
    assert_clean(second)
    assert (second.created, second.updated, second.unchanged) == (0, 0, len(keys))
    assert all(hapi.version_count(key) == 1 for key in keys)


def test_changed_monograph_updates_only_its_resources(hapi, corpus, tmp_path):
    assert_clean(run([corpus.folder], hapi.url))
    stem = "metformin"
    before = {k: json.dumps(e["resource"], sort_keys=True)
              for k, e in zip(corpus.keys(stem), corpus.bundle(stem)["entry"])}
    corpus.change_dose(stem, tmp_path)
    after = {k: json.dumps(e["resource"], sort_keys=True)
             for k, e in zip(corpus.keys(stem), corpus.bundle(stem)["entry"])}
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed, "editing a dose line changed no resource"

    plan = run([corpus.folder], hapi.url, dry_run=True)
    assert {c.resource for c in plan.plan if c.action == "update"} == changed - set(before).symmetric_difference(after)
    assert all(c.monograph.endswith(f"{stem}.json") for c in plan.plan if c.action != "unchanged")

    report = run([corpus.folder], hapi.url, verify=True)
    assert_clean(report)
    touched = {e.resource for e in report.entries if e.action != "unchanged"}
    assert touched == changed
    assert report.updated == len(changed & set(before)) and report.created == len(changed - set(before))
    for key in corpus.keys():
        assert hapi.version_count(key) == (2 if key in changed and key in before else 1), key


def test_dry_run_writes_nothing(hapi, corpus):
    keys = corpus.keys()
    plan = run([corpus.folder], hapi.url, dry_run=True)
    assert plan.dry_run and plan.created == len(keys) and plan.updated == plan.unchanged == 0
    assert [c.resource for c in plan.plan] == keys
    for key in keys[:5]:
        assert client.read_resource(client.build_session(), hapi.url, key) is None
    assert_clean(run([corpus.folder], hapi.url))
    again = run([corpus.folder], hapi.url, dry_run=True)
    assert again.unchanged == len(keys) and again.created == again.updated == 0


def test_batch_bundles_and_small_batch_size(hapi, corpus):
    report = run([corpus.folder], hapi.url, bundle_type="batch", batch_size=3, jobs=3, verify=True)
    assert_clean(report)
    assert report.created == len(corpus.keys())
    sizes = {len(corpus.keys(s)) for s in corpus.files}
    assert report.bundles >= report.total / max(3, max(sizes))  # split, but never inside a monograph


def test_ndjson_folder(hapi, corpus, tmp_path):
    """NDJSON (Type/id references) is rebuilt into PUT transaction entries."""
    folder = tmp_path / "ndjson"
    folder.mkdir()
    by_type: dict[str, list[str]] = {}
    for stem in corpus.files:
        bundle = corpus.bundle(stem)
        urls = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
        for entry in bundle["entry"]:
            text = json.dumps(entry["resource"], ensure_ascii=False)
            for urn, key in urls.items():
                text = text.replace(f'"{urn}"', f'"{key}"')
            by_type.setdefault(entry["resource"]["resourceType"], []).append(text)
    for rtype, lines in by_type.items():
        (folder / f"{rtype}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run([folder], hapi.url, verify=True)
    assert_clean(report)
    assert report.created == len(corpus.keys())
    assert len({e.monograph for e in report.entries}) == len(corpus.files)  # grouped per monograph
    again = run([corpus.folder], hapi.url)  # the same resources as bundles: nothing to do
    assert again.unchanged == len(corpus.keys())


def test_monographs_converted_on_the_fly(hapi, corpus, tmp_path):
    if not corpus.converted:
        pytest.skip("mono2fhir.convert is not available yet")
    report = run([ROOT / "examples"], hapi.url, fhir_version=hapi.version, verify=True)
    # A monograph whose conversion has validation errors is refused (as export refuses to write it);
    # every other one goes in.
    refused = [f for f in report.failures if f.resource is None]
    assert all("validation error" in f.outcome for f in refused), refused
    assert report.failed == len(refused) == len(report.failures) and not report.differences
    assert report.total and report.created + report.updated + report.unchanged == report.total
    assert len({e.monograph for e in report.entries}) + len(refused) == len(corpus.files)
    again = run([ROOT / "examples"], hapi.url)
    assert again.unchanged == again.total == report.total


def test_validate_every_resource_on_the_server(hapi, corpus, request):
    """$validate each stored resource: no error or fatal issue. Warnings are listed in
    .pytest_cache (key push/validate-warnings-<version>) for the closing note."""
    assert_clean(run([corpus.folder], hapi.url))
    session = client.build_session()
    problems, warnings = [], set()
    for key in corpus.keys():
        stored = client.read_resource(session, hapi.url, key)
        stored.pop("meta", None)
        outcome = client.validate_on_server(session, hapi.url, stored)
        for issue in outcome.get("issue", []):
            text = f"{key.split('/')[0]}: {issue.get('diagnostics', '')} [{', '.join(issue.get('expression', []))}]"
            if issue.get("severity") in ("error", "fatal"):
                problems.append(f"{key}: {text}")
            elif issue.get("severity") == "warning":
                warnings.add(text.replace(corpus.suffix, "*"))
    request.config.cache.set(f"push/validate-warnings-{hapi.version}", sorted(warnings))
    assert problems == []


# --------------------------------------------------------------------------- faults


def test_faults_every_resource_lands_exactly_once(hapi, corpus):
    keys = corpus.keys()
    with FaultProxy(hapi.url, faults=["503", "429", "drop", "drop-after"], every=3, methods=("POST",)) as proxy:
        report = run([corpus.folder], through(proxy, hapi), batch_size=10, jobs=2, retries=8, verify=True)
    assert_clean(report)
    for fault in ("503", "429", "drop", "drop-after"):
        assert proxy.count(fault) >= 1, (fault, proxy.log)
    # The summary is accurate although some writes were acknowledged only on a retry.
    assert (report.created, report.updated, report.unchanged) == (len(keys), 0, 0), report
    assert report.retried_bundles >= 3 and report.recovered >= 1
    assert all(hapi.version_count(key) == 1 for key in keys)  # nothing written twice
    for rtype in {k.split("/")[0] for k in keys}:  # nothing duplicated under another id
        wanted = [k.split("/")[1] for k in keys if k.startswith(rtype + "/")]
        for start in range(0, len(wanted), 20):
            part = wanted[start:start + 20]
            assert hapi.get(rtype, _id=",".join(part), _summary="count")["total"] == len(part)


def test_faults_on_reads_during_dry_run_and_verify(hapi, corpus):
    assert_clean(run([corpus.folder], hapi.url))
    with FaultProxy(hapi.url, faults=["503", "drop", "429"], every=4, methods=("GET",)) as proxy:
        plan = run([corpus.folder], through(proxy, hapi), dry_run=True, retries=8, jobs=3)
        report = run([corpus.folder], through(proxy, hapi), verify=True, retries=8, jobs=3)
    assert plan.unchanged == len(corpus.keys())
    assert_clean(report)
    assert report.unchanged == report.verified == len(corpus.keys())
    assert proxy.count("drop") >= 1


# --------------------------------------------------------------------------- the command line


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MONO2FHIR_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "mono2fhir", "push", *args], capture_output=True, text=True,
                          env=full_env, timeout=600, stdin=subprocess.DEVNULL)


def test_cli_wrong_token_is_a_clear_one_line_error(hapi, corpus):
    with FaultProxy(hapi.url, token=TOKEN) as proxy:
        server = through(proxy, hapi)
        wrong = cli(str(corpus.folder), "--server", server, "--bearer-token", WRONG, "--retries", "1")
        from_env = cli(str(corpus.folder), "--retries", "1", env={"MONO2FHIR_TOKEN": WRONG, "MONO2FHIR_SERVER": server})
        right = cli(str(corpus.folder), "--server", server, env={"MONO2FHIR_TOKEN": TOKEN})
    for result in (wrong, from_env):
        assert result.returncode == 3, result.stderr
        assert "401" in result.stderr and "--bearer-token" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert WRONG not in result.stdout + result.stderr and TOKEN not in result.stdout + result.stderr
    assert right.returncode == 0, right.stderr
    assert TOKEN not in right.stdout + right.stderr
    assert f"{len(corpus.keys())} created" in right.stdout and "0 failed" in right.stdout


def test_cli_summary_exit_codes_and_report(hapi, corpus, tmp_path):
    report_file = tmp_path / "report.json"
    done = cli(str(corpus.folder), "--server", hapi.url, "--verify", "--report", str(report_file), "-j", "2")
    assert done.returncode == 0, done.stderr
    n = len(corpus.keys())
    assert f"pushed {n} resources" in done.stdout and f"{n} created, 0 updated, 0 unchanged, 0 failed" in done.stdout
    assert "resources/s" in done.stdout and "0 differences" in done.stdout
    assert json.loads(report_file.read_text())["created"] == n

    dry = cli(str(corpus.folder), "--server", hapi.url, "--dry-run")
    assert dry.returncode == 0 and "nothing written" in dry.stdout and f"{n} unchanged" in dry.stdout

    bad = corpus.bundle("metformin")  # a reference to a placeholder that is not in the bundle
    bad["entry"][0]["resource"].setdefault("extension", []).append(
        {"url": "http://example.org/x", "valueReference": {"reference": "urn:uuid:00000000-0000-0000-0000-00000000dead"}})
    corpus.write("metformin", bad)
    some = cli(str(corpus.folder), "--server", hapi.url, "--batch-size", "1000")
    assert some.returncode == 1, some.stderr
    assert "FAILED" in some.stderr and "metformin.json" in some.stderr and "HAPI-" in some.stderr
    failed = len(corpus.keys("metformin"))
    assert f"{n - failed} unchanged, {failed} failed" in some.stdout  # the other monographs still went in

    down = cli(str(corpus.folder), "--server", "http://127.0.0.1:9/fhir", "--retries", "0")
    assert down.returncode == 3 and "unreachable" in down.stderr and "Traceback" not in down.stderr
    mismatch = cli(str(corpus.folder), "--server", hapi.url, "--fhir-version", "R5" if hapi.version == "R4" else "R4")
    assert mismatch.returncode == 2 and "--fhir-version" in mismatch.stderr
