#!/usr/bin/env python3
"""Export throughput benchmark: N monographs generated from examples/, exported with --jobs 1 and
--jobs 2 side by side in one run; reports monographs/s, resources/s and peak memory (RSS of the
whole process tree, sampled every 50 ms).

    python bench/bench_export.py --n 2000 [--jobs 1 2] [--fhir-version R4] [--keep DIR]

The corpus: each example copied N/len(examples) times with a numbered title ("Metformin 17") so
every monograph gets its own id; the bodies are the real examples, so the extraction work is real.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def generate(n: int, target: Path) -> list[Path]:
    """N monographs made from the examples, each with a unique title."""
    sources = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".md", ".txt"))
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(n):
        source = sources[i % len(sources)]
        text = source.read_bytes().decode("utf-8-sig")
        if re.search(r"^title:", text, re.MULTILINE):
            text = re.sub(r"^title:\s*(.+)$", lambda m: f"title: {m.group(1).strip()} {i}", text, count=1,
                          flags=re.MULTILINE)
        else:  # title from the H1
            text = re.sub(r"^# (.+)$", lambda m: f"# {m.group(1).strip()} {i}", text, count=1, flags=re.MULTILINE)
        path = target / f"{i:05d}-{source.stem}.md"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def run_export(corpus: Path, out: Path, jobs: int, fhir_version: str) -> dict:
    command = [sys.executable, "-m", "mono2fhir", "export", str(corpus), "--out", str(out),
               "--jobs", str(jobs), "--fhir-version", fhir_version]
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process] + process.children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"export failed ({process.returncode}):\n{stderr[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    resources = sum(sum(i["resources"].values()) for i in manifest["inputs"])
    return {"jobs": jobs, "seconds": elapsed, "monographs": len(manifest["inputs"]), "resources": resources,
            "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--fhir-version", default="R4", choices=["R4", "R5"])
    parser.add_argument("--keep", type=Path, help="keep the corpus and outputs here")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="mono2fhir-bench-"))
    corpus = work / "corpus"
    generate(args.n, corpus)
    results = [run_export(corpus, work / f"out-jobs{jobs}", jobs, args.fhir_version) for jobs in args.jobs]
    base = results[0]
    print(f"export of {args.n} monographs to FHIR {args.fhir_version} (includes process start-up and validation)")
    print(f"{'jobs':>4} {'seconds':>8} {'monographs/s':>13} {'resources/s':>12} {'peak MiB':>9} {'speed-up':>9}")
    for r in results:
        print(f"{r['jobs']:>4} {r['seconds']:>8.1f} {r['monographs'] / r['seconds']:>13.1f} "
              f"{r['resources'] / r['seconds']:>12.1f} {r['peak_mib']:>9.0f} {base['seconds'] / r['seconds']:>8.2f}x")


if __name__ == "__main__":
    main()
