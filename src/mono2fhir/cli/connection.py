"""Options for talking to a FHIR server, shared by ``push`` and ``validate --server``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from pydantic import SecretStr

from .. import client


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --timeout, --retries, --bearer-token, --basic, --header, --ca-bundle and --insecure."""
    options = [
        click.option("--timeout", type=click.FloatRange(min=0.1), default=300.0, show_default=True,
                     help="Seconds to wait for an answer (connect timeout is 10 s)."),
        click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
                     help="Retries on connection errors, 429 and 5xx, with back-off and jitter, honouring Retry-After."),
        click.option("--bearer-token", envvar="MONO2FHIR_TOKEN", show_envvar=True, default=None,
                     help="Send 'Authorization: Bearer TOKEN'."),
        click.option("--basic", metavar="USER[:PASSWORD]", default=None,
                     help="HTTP basic auth; prompts for the password when it is not given."),
        click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Extra header (repeatable)."),
        click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="CA certificates (PEM) to verify the server's TLS certificate with."),
        click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (test servers only)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _parse_basic(value: str | None) -> tuple[str | None, SecretStr | None]:
    if value is None:
        return None, None
    user, sep, password = value.partition(":")
    if not user:
        raise click.BadParameter("expected user[:password]", param_hint="--basic")
    if not sep:
        password = click.prompt(f"Password for {user}", hide_input=True, err=True)
    return user, SecretStr(password)


def _parse_headers(values: tuple[str, ...]) -> dict[str, SecretStr]:
    headers = {}
    for text in values:
        try:
            name, value = client.parse_header(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--header") from None
        headers[name] = SecretStr(value)
    return headers


def client_options(timeout: float, retries: int, bearer_token: str | None, basic: str | None,
                   headers: tuple[str, ...], ca_bundle: str | None, insecure: bool) -> client.ClientOptions:
    """The ``ClientOptions`` the connection options describe (prompting for a basic password)."""
    if bearer_token is not None and basic is not None:
        raise click.UsageError("give either --bearer-token (or MONO2FHIR_TOKEN) or --basic, not both")
    user, password = _parse_basic(basic)
    if insecure:
        click.echo("warning: --insecure: TLS certificates are not verified; use it only with a test server", err=True)
    return client.ClientOptions(
        read_timeout=timeout, connect_timeout=min(10.0, timeout), retries=retries,
        bearer_token=SecretStr(bearer_token) if bearer_token else None, basic_user=user,
        basic_password=password, headers=_parse_headers(headers), verify=not insecure,
        ca_bundle=str(ca_bundle) if ca_bundle else None)
