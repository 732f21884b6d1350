"""``mono2fhir push``: parse options into ``PushOptions``, call ``mono2fhir.push.push``, print the report.

Exit codes (``mono2fhir.errors``): 0 every entry written (and verified), 1 some entries or inputs
failed or differ on read-back, 2 usage error, 3 server unreachable or credentials refused.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click
from .. import client
from ..errors import EXIT_SERVER, ServerError
from ..push import PushOptions, PushReport, PushUsageError, push as run_push
from . import main
from .common import progress_bar
from .connection import client_options, connection_options


def _print_report(report: PushReport) -> None:
    for change in report.plan:
        if change.action != "unchanged":
            paths = f" ({', '.join(change.paths[:5])}{', ...' if len(change.paths) > 5 else ''})" if change.paths else ""
            click.echo(f"would {change.action} {change.resource} [{change.monograph}]{paths}")
    for failure in report.failures:
        status = f" HTTP {failure.status}" if failure.status else ""
        what = failure.resource or "(input)"
        click.echo(f"FAILED {failure.monograph}: {what}{status}: {failure.outcome}", err=True)
    for diff in report.differences:
        click.echo(f"DIFFERS {diff.monograph}: {diff.resource} {diff.path}: sent {diff.sent!s}, "
                   f"server has {diff.stored!s}", err=True)
    rate = f"{report.resources_per_second:g} resources/s"
    if report.dry_run:
        click.echo(f"dry run against {report.server} (FHIR {report.fhir_version}), nothing written: "
                   f"{report.created} to create, {report.updated} to update, {report.unchanged} unchanged, "
                   f"{report.failed} failed, {report.total} resources in {report.elapsed_s:.1f} s ({rate})")
        return
    extra = f", verified {report.verified} ({len(report.differences)} differences)" if report.verified else ""
    click.echo(f"pushed {report.total} resources to {report.server} (FHIR {report.fhir_version}, "
               f"{report.bundles} {report.bundle_type} bundles): {report.created} created, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.failed} failed{extra} in {report.elapsed_s:.1f} s ({rate})")


@main.command("push")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--server", envvar="MONO2FHIR_SERVER", required=True, show_envvar=True,
              help="FHIR base URL, e.g. http://localhost:8080/fhir.")
@click.option("--fhir-version", type=click.Choice(["R4", "R5"]), default=None,
              help="Version to convert monographs to (default: the server's; a mismatch is an error).")
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True,
              help="Resources per bundle (a monograph's resources are never split).")
@click.option("--bundle-type", type=click.Choice(["transaction", "batch"]), default="transaction", show_default=True,
              help="batch for servers without transactions (entries then succeed or fail one by one).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True,
              help="Bundles sent in parallel.")
@connection_options
@click.option("--dry-run", is_flag=True, help="Read the server and print the plan; write nothing.")
@click.option("--verify", "verify_", is_flag=True, help="Read every resource back and compare it with what was sent.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Also write the report as JSON to this file.")
def push(inputs, server, fhir_version, batch_size, bundle_type, jobs, timeout, retries, bearer_token, basic, headers,
         ca_bundle, insecure, dry_run, verify_, report_path) -> None:
    """Load monographs, exported bundles or NDJSON folders into a FHIR server.

    Resources are sent as PUT Type/id entries of transaction bundles, so pushing again updates in
    place and creates no new version when nothing changed.
    """
    options = PushOptions(
        server=server, fhir_version=fhir_version, batch_size=batch_size, bundle_type=bundle_type, jobs=jobs,
        dry_run=dry_run, verify=verify_,
        client=client_options(timeout, retries, bearer_token, basic, headers, ca_bundle, insecure),
    )
    try:
        with progress_bar("dry run" if dry_run else "pushing") as progress, warnings.catch_warnings():
            warnings.simplefilter("ignore", client.InsecureTransportWarning)  # said above, once
            report = run_push(inputs, options, progress=progress)
    except PushUsageError as exc:
        raise click.UsageError(str(exc)) from None
    except ServerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_SERVER)
    _print_report(report)
    if report_path is not None:
        report_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    sys.exit(report.exit_code)
