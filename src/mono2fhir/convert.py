"""The library API of ``mono2fhir export``: monograph files -> validated FHIR resources -> files.

``convert_file`` runs the whole pipeline for one monograph (parse -> extract -> build -> structure
check -> local validation layers). ``export`` runs it over many inputs, in parallel processes when
asked, collects per-file failures as values (one bad file never stops the batch) and writes the
bundles or NDJSON and ``manifest.json``. Nothing here prints or exits; the CLI reports.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .build import BUILDERS, BuildContext
from .build.common import recorded_at
from .errors import MonographError
from .extract import extract_knowledge
from .io import JSON, BundleType, bundle, discover, dumps, ndjson_lines, write_atomic
from .model import DrugKnowledge
from .parse import parse_monograph
from .terminology import Terminology
from .validate import LAYERS, validate
from .validate.findings import Finding

log = logging.getLogger(__name__)

FhirVersion = Literal["R4", "R5"]
OutputFormat = Literal["bundle", "ndjson"]


class ExportOptions(BaseModel):
    """Everything ``mono2fhir export`` can be told; the CLI only fills this in."""

    model_config = ConfigDict(frozen=True)

    fhir_version: FhirVersion = "R4"
    bundle_type: BundleType = "transaction"
    format: OutputFormat = "bundle"
    single_file: bool = False
    mappings: Path | None = None
    jobs: int = Field(default=1, ge=1)
    allow_invalid: bool = False


class Conversion(BaseModel):
    """One monograph converted: its knowledge, its resources (FHIR JSON, ``Type/id`` references)
    and the validation findings on them."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    knowledge: DrugKnowledge
    fhir_version: FhirVersion
    resources: list[JSON]
    findings: list[Finding] = []

    @property
    def monograph(self):
        return self.knowledge.monograph

    @property
    def timestamp(self) -> str:
        return recorded_at(self.monograph)

    def bundle(self, bundle_type: BundleType = "transaction") -> JSON:
        return bundle(self.resources, bundle_type, self.timestamp)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


class InputReport(BaseModel):
    """One input's line in ``manifest.json``."""

    path: str
    sha256: str | None = None
    output: str | None = None
    resources: dict[str, int] = {}
    errors: list[str] = []
    validation_errors: int = 0  # written anyway with --allow-invalid
    warnings: int = 0


class ExportReport(BaseModel):
    tool: str = f"mono2fhir {__version__}"
    fhir_version: FhirVersion
    format: OutputFormat
    bundle_type: BundleType
    inputs: list[InputReport] = []

    @property
    def failed(self) -> list[InputReport]:
        return [i for i in self.inputs if i.errors]

    @property
    def converted(self) -> list[InputReport]:
        return [i for i in self.inputs if not i.errors]

    @property
    def warnings(self) -> int:
        return sum(i.warnings for i in self.inputs)

    @property
    def validation_errors(self) -> int:
        return sum(i.validation_errors for i in self.inputs)


def to_fhir_json(resources: list[JSON], fhir_version: FhirVersion) -> list[JSON]:
    """Check each resource against the fhir.resources model of its version and return the model's
    own JSON form (canonical element order, no empty values). A structure error here is a bug in a
    builder, so it raises."""
    models = BUILDERS[fhir_version].models
    return [json.loads(models[r["resourceType"]].model_validate(r).model_dump_json(exclude_none=True)) for r in resources]


def convert_monograph(path: str, data: bytes, fhir_version: FhirVersion, terminology: Terminology) -> Conversion:
    monograph = parse_monograph(path, data, terminology)
    knowledge = extract_knowledge(monograph, terminology)
    resources = to_fhir_json(BUILDERS[fhir_version].build(knowledge, BuildContext(knowledge, terminology)), fhir_version)
    conversion = Conversion(knowledge=knowledge, fhir_version=fhir_version, resources=resources)
    conversion.findings = _validate(conversion, terminology)
    return conversion


def convert_file(path: str | Path, fhir_version: FhirVersion = "R4", terminology: Terminology | None = None,
                 display: str | None = None) -> Conversion:
    """Convert one monograph file. Raises ``MonographError`` for bad input."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MonographError(display or str(path), f"cannot read: {exc.strerror or exc}") from exc
    return convert_monograph(display or path.name, data, fhir_version, terminology or Terminology.load())


def _validate(conversion: Conversion, terminology: Terminology) -> list[Finding]:
    """The local validation layers on the transaction bundle. The structure layer is left out:
    ``to_fhir_json`` has just parsed every resource with the same fhir.resources models."""
    layers = [name for name in LAYERS if name != "structure"]
    return validate(conversion.bundle("transaction"), conversion.fhir_version, terminology, layers=layers)


# --------------------------------------------------------------------------- batch

_TERMINOLOGY: dict[str | None, Terminology] = {}


def _terminology(mappings: Path | None) -> Terminology:
    """One Terminology per process and mappings folder (worker processes load it once)."""
    key = str(mappings) if mappings else None
    if key not in _TERMINOLOGY:
        _TERMINOLOGY[key] = Terminology.load(mappings)
    return _TERMINOLOGY[key]


def _convert_for_export(path: Path, display: str, options: ExportOptions) -> tuple[InputReport, Conversion | None]:
    report = InputReport(path=str(path))
    try:
        data = path.read_bytes()
        report.sha256 = hashlib.sha256(data).hexdigest()
        conversion = convert_monograph(display, data, options.fhir_version, _terminology(options.mappings))
    except MonographError as exc:
        report.errors.append(f"{path}:{exc.line}: {exc.reason}" if exc.line else f"{path}: {exc.reason}")
        return report, None
    except OSError as exc:
        report.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
        return report, None
    except Exception as exc:  # a bug must not stop the batch; the traceback goes to the debug log
        log.debug("internal error converting %s", path, exc_info=True)
        report.errors.append(f"{path}: internal error ({type(exc).__name__}: {exc}); please report it")
        return report, None
    report.warnings = len(conversion.warnings())
    errors = conversion.errors()
    report.validation_errors = len(errors)
    if errors and not options.allow_invalid:
        first = errors[0]
        report.errors.append(f"{path}: {len(errors)} validation error(s), not written (use --allow-invalid "
                             f"to write anyway); first: {first.rule} at {first.path}: {first.message}")
    for resource in conversion.resources:
        report.resources[resource["resourceType"]] = report.resources.get(resource["resourceType"], 0) + 1
    return report, conversion


def export(inputs: list[str | Path], out_dir: Path, options: ExportOptions,
           progress: Callable[[int, int], None] | None = None) -> ExportReport:
    """Convert every monograph under ``inputs`` and write the results into ``out_dir``.
    ``progress(done, total)`` is called after each monograph."""
    _terminology(options.mappings)  # fail early (MappingError) on a bad --mappings folder
    files = list(discover(inputs))
    report = ExportReport(fhir_version=options.fhir_version, format=options.format, bundle_type=options.bundle_type)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out_dir, options)

    def consume(result: tuple[InputReport, Conversion | None]) -> None:
        item, conversion = result
        if conversion is not None and not item.errors:
            writer.add(item, conversion)
        report.inputs.append(item)
        if progress:
            progress(len(report.inputs), len(files))

    if options.jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(max_workers=options.jobs) as pool:
            chunks = max(1, min(32, len(files) // (options.jobs * 4)))
            paths, displays = [f for f, _ in files], [d for _, d in files]
            for result in pool.map(_convert_for_export, paths, displays, repeat(options), chunksize=chunks):
                consume(result)
    else:
        for path, display in files:
            consume(_convert_for_export(path, display, options))
    writer.finish()
    write_atomic(out_dir / "manifest.json", dumps(report.model_dump(mode="json")))
    return report


class _Writer:
    """Writes as results arrive (one bundle per monograph) or at the end (single file, NDJSON)."""

    def __init__(self, out_dir: Path, options: ExportOptions):
        self.out = out_dir
        self.options = options
        self.owner: dict[str, str] = {}  # slug -> input path, to refuse two monographs with one id
        self.pending: list[Conversion] = []

    def add(self, item: InputReport, conversion: Conversion) -> None:
        slug = conversion.knowledge.slug
        if slug in self.owner:
            item.errors.append(f"{item.path}: its title gives id {slug!r}, already used by {self.owner[slug]}; "
                               "not written")
            return
        self.owner[slug] = item.path
        if self.options.format == "bundle" and not self.options.single_file:
            target = self.out / f"{slug}.json"
            write_atomic(target, dumps(conversion.bundle(self.options.bundle_type)))
            item.output = target.name
        else:
            self.pending.append(conversion)
            item.output = "bundle.json" if self.options.format == "bundle" else "*.ndjson"

    def finish(self) -> None:
        if not self.pending:
            return
        self.pending.sort(key=lambda c: c.knowledge.slug)
        resources = [r for c in self.pending for r in c.resources]
        if self.options.format == "ndjson":
            for resource_type, lines in sorted(ndjson_lines(resources).items()):
                write_atomic(self.out / f"{resource_type}.ndjson", "\n".join(lines) + "\n")
        else:
            timestamp = max(c.timestamp for c in self.pending)
            write_atomic(self.out / "bundle.json", dumps(bundle(resources, self.options.bundle_type, timestamp)))
