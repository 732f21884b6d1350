"""Paths shared by the tests (importable because pyproject puts tests/ on pytest's pythonpath)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "000_fafd06b671e45a1e.txt"
BAD = ROOT / "tests" / "bad"
GOLDEN = EXAMPLES / "output"
