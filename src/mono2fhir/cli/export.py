"""``mono2fhir export``: monographs -> FHIR bundles or NDJSON files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..build import BUILDERS
from ..convert import ExportOptions, export
from ..errors import EXIT_OK, EXIT_SOME_FAILED, MappingError
from . import main
from .common import fail_usage, progress_bar


@main.command("export")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if missing). Nothing is written outside it.")
@click.option("--fhir-version", type=click.Choice(sorted(BUILDERS)), default="R4", show_default=True,
              help="FHIR release to produce.")
@click.option("--bundle-type", type=click.Choice(["transaction", "batch", "collection"]), default="transaction",
              show_default=True, help="Bundle.type. Transaction and batch entries are PUT Type/id (idempotent).")
@click.option("--format", "output_format", type=click.Choice(["bundle", "ndjson"]), default="bundle",
              show_default=True, help="One Bundle JSON per monograph, or one NDJSON file per resource type.")
@click.option("--single-file", is_flag=True, help="Write one bundle.json for all monographs.")
@click.option("--mappings", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of extra mapping tables (YAML) that add to or override the shipped ones.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Convert in N parallel processes.")
@click.option("--allow-invalid", is_flag=True, help="Write bundles even when validation finds errors.")
def export_command(inputs: tuple[Path, ...], out_dir: Path, fhir_version: str, bundle_type: str,
                   output_format: str, single_file: bool, mappings: Path | None, jobs: int,
                   allow_invalid: bool) -> None:
    """Convert monographs (files, or folders searched recursively for .md/.txt) into FHIR.

    Writes <OUT>/<id>.json per monograph (or bundle.json / <Type>.ndjson) and <OUT>/manifest.json.
    Exit status: 0 all converted; 1 some inputs failed (the others are still written); 2 usage error.
    """
    options = ExportOptions(fhir_version=fhir_version, bundle_type=bundle_type, format=output_format,
                            single_file=single_file, mappings=mappings, jobs=jobs, allow_invalid=allow_invalid)
    try:
        with progress_bar("converting") as progress:
            report = export(list(inputs), out_dir, options, progress=progress)
    except MappingError as exc:
        fail_usage(str(exc))
    for item in report.failed:
        for error in item.errors:
            click.echo(f"error: {error}", err=True)
    resources = sum(sum(i.resources.values()) for i in report.converted)
    if options.allow_invalid and report.validation_errors:
        click.echo(f"warning: {report.validation_errors} validation error(s) written anyway (--allow-invalid); "
                   "run 'mono2fhir validate' on the output for details", err=True)
    click.echo(
        f"{len(report.converted)} of {len(report.inputs)} monograph(s) converted to FHIR {fhir_version}, "
        f"{resources} resources, {report.warnings} validation warning(s), {len(report.failed)} failed; "
        f"output in {out_dir}",
        err=True,
    )
    sys.exit(EXIT_SOME_FAILED if report.failed or not report.inputs else EXIT_OK)


