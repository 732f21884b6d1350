#!/usr/bin/env python3
"""Push throughput benchmark against a local HAPI FHIR server.

    python bench/bench_push.py --fresh-server 8390 [--n 2000] [--corpus DIR]
        [--batch-sizes 6 100 300] [--jobs 1 2 4] [--json results.json]
    python bench/bench_push.py --server http://127.0.0.1:8190/fhir ...   # one running server for all runs

The corpus is the bench corpus of bench_export.py (N monographs generated from examples/, each with
its own title and ids), exported once to one transaction bundle file per monograph; or ``--corpus``,
a folder of bundle files. Each configuration pushes a fresh copy (every id given a run suffix), so
every run creates the same number of new resources. With ``--fresh-server`` every run gets a newly
booted, warmed-up HAPI test server (an in-memory H2 server slows down as it fills: runs late on a
shared server are penalised).

Reported per configuration: seconds and resources/s. ``baseline`` posts the same per-monograph
bundle files one after the other with a bare ``requests`` loop (no retries, no parsing of the
answer) (on a shared server first and again last, the faster counts); ``push b=1 j=1`` (one monograph per bundle,
one at a time) is the like-for-like mono2fhir run, so their ratio is the client's own overhead. The best configuration is the fastest overall.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from mono2fhir import ids  # noqa: E402
from mono2fhir.client import ClientOptions  # noqa: E402
from mono2fhir.push import PushOptions, push  # noqa: E402


def make_corpus(n: int, work: Path, fhir_version: str) -> Path:
    from bench_export import generate

    from mono2fhir.convert import ExportOptions, export

    monographs = work / "monographs"
    out = work / "bundles"
    generate(n, monographs)
    started = time.perf_counter()
    report = export([monographs], out, ExportOptions(fhir_version=fhir_version, jobs=2))
    failed = [r for r in report.inputs if r.errors] if hasattr(report, "inputs") else []
    print(f"corpus: {n} monographs exported in {time.perf_counter() - started:.1f} s"
          + (f" ({len(failed)} failed)" if failed else ""), file=sys.stderr)
    return out


def with_suffix(source: Path, target: Path, suffix: str) -> tuple[int, list[Path]]:
    """Copy every bundle file with ``-<suffix>`` on each id (fullUrls and references redone)."""
    target.mkdir(parents=True)
    total, files = 0, []
    for path in sorted(source.glob("*.json")):
        if path.name == "manifest.json":
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        mapping = {}
        for entry in bundle["entry"]:
            r = entry["resource"]
            r["id"] = f"{r['id'][: 63 - len(suffix)]}-{suffix}"
            new = ids.full_url(r["resourceType"], r["id"])
            mapping[entry["fullUrl"]] = new
            entry["fullUrl"] = new
            entry["request"]["url"] = f"{r['resourceType']}/{r['id']}"
        text = json.dumps(bundle, ensure_ascii=False)
        for old, new in mapping.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        out = target / path.name
        out.write_text(text, encoding="utf-8")
        files.append(out)
        total += len(bundle["entry"])
    return total, files


def baseline(server: str, files: list[Path]) -> float:
    session = requests.Session()
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    started = time.perf_counter()
    for path in files:
        response = session.post(server, data=path.read_bytes(), headers=headers, timeout=300)
        response.raise_for_status()
    return time.perf_counter() - started


def run_push(server: str, folder: Path, batch_size: int, jobs: int) -> tuple[float, dict]:
    options = PushOptions(server=server, batch_size=batch_size, jobs=jobs, client=ClientOptions())
    started = time.perf_counter()
    report = push([folder], options)
    elapsed = time.perf_counter() - started
    if report.failed:
        raise SystemExit(f"push b={batch_size} j={jobs}: {report.failed} failed: {report.failures[:2]}")
    return elapsed, {"created": report.created, "bundles": report.bundles}


@contextmanager
def server_for_run(args: argparse.Namespace, work: Path) -> Iterator[str]:
    if args.server:
        server = args.server.rstrip("/")
        requests.get(f"{server}/metadata", timeout=60).raise_for_status()
        yield server
        return
    script = ROOT / "interop" / "hapi-server" / "hapi-server"
    state = work / "hapi"
    port = str(args.fresh_server)
    url = subprocess.run([str(script), "start", "--fhir-version", args.fhir_version, "--port", port,
                          "--state-dir", str(state)], check=True, capture_output=True, text=True).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([str(script), "stop", "--port", port, "--state-dir", str(state)], check=False,
                       capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", help="base URL of a running server, shared by every run")
    where.add_argument("--fresh-server", type=int, metavar="PORT",
                       help="boot a fresh HAPI test server (interop/hapi-server) on PORT for every run, so each "
                            "run meets an empty database; an in-memory H2 server slows down as it fills up")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--corpus", type=Path, help="a folder of bundle files (default: generate and export)")
    parser.add_argument("--fhir-version", default="R4", choices=["R4", "R5"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[6, 100, 300])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="mono2fhir-bench-push-"))
    source = args.corpus or make_corpus(args.n, work, args.fhir_version)
    results = []

    def record(name: str, seconds: float, resources: int, **extra) -> None:
        row = {"name": name, "seconds": round(seconds, 2), "resources": resources,
               "resources_per_s": round(resources / seconds, 1), **extra}
        results.append(row)
        print(f"{name:<28} {seconds:8.1f} s  {row['resources_per_s']:8.1f} resources/s  {extra or ''}", flush=True)

    def measured(name: str, run: Callable[[str, Path], tuple[float, dict]]) -> None:
        """One measured run on a warmed-up server (a fresh one with --fresh-server)."""
        with server_for_run(args, work) as server:
            # Warm the server up (JIT, caches, first-write schema work) so no run is penalised for being first.
            _, files = with_suffix(source, work / f"warmup-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:6])
            baseline(server, files[:50])
            folder = work / name.replace(" ", "_").replace("=", "")
            n, _ = with_suffix(source, folder, uuid.uuid4().hex[:6])
            seconds, extra = run(server, folder)
            record(name, seconds, n, **extra)

    def bare_loop(server: str, folder: Path) -> tuple[float, dict]:
        return baseline(server, sorted(folder.glob("*.json"))), {}

    measured("baseline requests loop", bare_loop)
    for batch_size in args.batch_sizes:
        for jobs in args.jobs:
            measured(f"push b={batch_size} j={jobs}",
                     lambda server, folder, b=batch_size, j=jobs: run_push(server, folder, b, j))
    if args.server:
        # On a shared server the baseline again at the end: the server is warmer and fuller by now, so
        # take the faster of the two (the ratio then does not flatter the client).
        measured("baseline requests loop (end)", bare_loop)

    base = max(r["resources_per_s"] for r in results if r["name"].startswith("baseline"))
    pushes = [r for r in results if r["name"].startswith("push")]
    like = next((r for r in pushes if r["name"].endswith(" j=1")), None)
    best = max(pushes, key=lambda r: r["resources_per_s"])
    summary = {"best": best["name"], "best_resources_per_s": best["resources_per_s"],
               "best_vs_baseline": round(best["resources_per_s"] / base, 2),
               "like_for_like": like["name"] if like else None,
               "like_for_like_vs_baseline": round(like["resources_per_s"] / base, 2) if like else None}
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "summary": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
