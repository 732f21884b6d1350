"""Extraction: a parsed ``Monograph`` -> ``DrugKnowledge`` (structured dosing, facts, monitoring).

``dose`` turns one dosing statement into Dosage models; ``monitoring`` splits monitoring prose;
``knowledge`` walks the sections and assembles the whole.
"""

from .knowledge import extract_knowledge

__all__ = ["extract_knowledge"]
