"""``mono2fhir validate``: layered validation of FHIR JSON, NDJSON and monographs.

Only adapts: options -> ``ValidateOptions`` -> ``mono2fhir.validate.inputs.validate_paths`` ->
report on stdout, summary on stderr, exit code from ``errors``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
from pydantic import BaseModel, ConfigDict

from ..client import ClientOptions, build_session
from ..errors import EXIT_OK, EXIT_SERVER, EXIT_SOME_FAILED, MappingError, ServerError
from ..terminology import Terminology
from ..validate import FHIR_VERSIONS, render_text, to_operation_outcome, to_outcome_bundle
from ..validate.findings import counts
from ..validate.inputs import InputResult, validate_paths
from ..validate.server import ServerValidator
from . import main
from .common import fail_usage
from .connection import client_options, connection_options

REPORTERS = ("text", "json")


class ValidateOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    paths: tuple[Path, ...]
    fhir_version: Literal["R4", "R5"] | None = None
    format: Literal["text", "json"] = "text"
    fail_on: Literal["error", "warning"] = "error"
    mappings: Path | None = None
    server: str | None = None  # $validate on this FHIR server, as one more layer
    client: ClientOptions = ClientOptions()


def report(results: list[InputResult], fmt: str) -> str:
    if fmt == "json":
        if len(results) == 1:
            return json.dumps(to_operation_outcome(results[0].findings, results[0].name), indent=2)
        return json.dumps(to_outcome_bundle({r.name: r.findings for r in results}), indent=2)
    return render_text([f for r in results for f in r.findings])


def run(options: ValidateOptions) -> int:
    try:
        terminology = Terminology.load(options.mappings)
    except MappingError as exc:
        fail_usage(str(exc))
    server = None
    try:
        if options.server:
            server = ServerValidator(build_session(options.client), options.server)
        results = validate_paths(options.paths, options.fhir_version, terminology, server)
    except ServerError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_SERVER
    text = report(results, options.format)
    if text:
        click.echo(text)
    all_findings = [f for r in results for f in r.findings]
    n = counts(all_findings)
    click.echo(f"{len(results)} input(s), {sum(r.resources for r in results)} resource(s): "
               f"{n['error']} error(s), {n['warning']} warning(s)", err=True)
    return EXIT_SOME_FAILED if any(f.at_least(options.fail_on) for f in all_findings) else EXIT_OK


@main.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fhir-version", type=click.Choice(FHIR_VERSIONS), default=None,
              help="FHIR version of the inputs (and of monograph conversion); detected from content if omitted.")
@click.option("--format", "fmt", type=click.Choice(REPORTERS), default="text", show_default=True,
              help="text: one finding per line; json: an OperationOutcome (a Bundle of them for several inputs).")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="Exit 1 when a finding of this severity or worse is found.")
@click.option("--mappings", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Extra mapping tables (codes known to the codes layer).")
@click.option("--server", envvar="MONO2FHIR_SERVER", show_envvar=True, default=None,
              help="Also run $validate on this FHIR server (e.g. HAPI) for every resource; its issues are "
                   "reported with rule 'server'.")
@connection_options
def validate_command(paths: tuple[Path, ...], fhir_version: str | None, fmt: str, fail_on: str, mappings: Path | None,
                     server: str | None, timeout: float, retries: int, bearer_token: str | None, basic: str | None,
                     headers: tuple[str, ...], ca_bundle: str | None, insecure: bool) -> None:
    """Validate FHIR JSON / NDJSON files, Bundles, folders and monographs, layer by layer:
    structure, required bindings and reference targets, FHIRPath invariants, UCUM units, codes and
    clinical sanity; with --server, also the server's $validate. Each finding names the element's
    FHIRPath and the monograph line it came from.

    Exit status: 0 no finding at --fail-on level; 1 some; 2 usage error; 3 server unreachable or
    credentials refused."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail_usage(f"no such file or folder: {', '.join(missing)}")
    options = ValidateOptions(
        paths=paths, fhir_version=fhir_version, format=fmt, fail_on=fail_on, mappings=mappings, server=server,
        client=client_options(timeout, retries, bearer_token, basic, headers, ca_bundle, insecure) if server
        else ClientOptions())
    raise SystemExit(run(options))
