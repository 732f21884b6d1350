"""Build FHIR resources for one FHIR version from ``DrugKnowledge``.

``BUILDERS`` maps a FHIR version to its builder and models; it drives ``--fhir-version``. Builders
return JSON-shaped resources with ``Type/id`` references; ``to_models`` checks them against the
fhir.resources models of the version, and ``bundle`` turns them into a Bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..model import DrugKnowledge
from . import r4, r5
from .common import JSON, BuildContext


@dataclass(frozen=True)
class Builder:
    version: str  # "R4" | "R5"
    fhir_version: str  # the version string a server reports
    build: Callable[[DrugKnowledge, BuildContext], list[JSON]]
    models: dict[str, Any]  # resourceType -> fhir.resources model class
    destinations: dict[str, str]  # Placement.destination -> FHIR element, for ``inspect``


BUILDERS: dict[str, Builder] = {
    "R4": Builder("R4", "4.0.1", r4.build_r4, r4.MODELS, r4.DESTINATIONS),
    "R5": Builder("R5", "5.0.0", r5.build_r5, r5.MODELS, r5.DESTINATIONS),
}

__all__ = ["BUILDERS", "Builder", "BuildContext", "JSON"]
