"""``mono2fhir inspect``: show what was understood of one monograph and where each statement went."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..build import BUILDERS
from ..convert import convert_file
from ..errors import EXIT_OK, EXIT_SOME_FAILED, MappingError, MonographError
from ..report import inspect_text
from ..terminology import Terminology
from . import main
from .common import fail_usage


@main.command("inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fhir-version", type=click.Choice(sorted(BUILDERS)), default="R4", show_default=True)
@click.option("--mappings", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of extra mapping tables.")
def inspect_command(file: Path, fhir_version: str, mappings: Path | None) -> None:
    """Show the sections of FILE, each statement and the FHIR element it went to (structured or
    text only), the dosing structure found, and the phrases no mapping table knew."""
    try:
        terminology = Terminology.load(mappings)
    except MappingError as exc:
        fail_usage(str(exc))
    try:
        conversion = convert_file(file, fhir_version, terminology, display=str(file))
    except MonographError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_SOME_FAILED)
    click.echo(inspect_text(conversion))
    sys.exit(EXIT_OK)
