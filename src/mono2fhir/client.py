"""HTTP access to a FHIR server: one configured ``requests.Session`` and one status -> error map.

``build_session(ClientOptions(...))`` returns a session with retries (urllib3 ``Retry``), timeouts,
authentication and TLS settings; ``check_response`` turns an HTTP error status into a domain error that
keeps the server's OperationOutcome text; ``validate_on_server`` runs ``$validate``.

Errors raised here (all ``ServerError``, defined in ``mono2fhir.errors``)::

    ServerError                  the server answered with an error (status, outcome text)
     ├── ServerUnreachable       no answer at all: connection refused, DNS, TLS, timeout (status None)
     └── AuthenticationFailed    401 / 403: the credentials were refused

Both subclasses mean exit code 3 (``EXIT_SERVER``); any other ``ServerError`` is a per-request
failure the caller records and continues after.

Secrets (bearer token, basic password, ``--header`` values) never reach logs, messages, reprs or
exceptions: the auth objects have redacting reprs, headers are logged through ``redact_headers`` and
URLs through ``redact_url``.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import AuthenticationFailed, ServerError, ServerUnreachable

log = logging.getLogger(__name__)

REDACTED = "***"
# Header names whose values are secrets whatever their origin; values given with --header are
# redacted as well (a custom header is often an API key).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FHIR_JSON = "application/fhir+json"


class InsecureTransportWarning(UserWarning):
    """TLS certificate verification was switched off with ``--insecure``."""


# --------------------------------------------------------------------------- options


class ClientOptions(BaseModel):
    """How to talk to the server. Secrets are ``SecretStr`` so that the repr never shows them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect_timeout: float = 10.0
    # A transaction of a few hundred resources can take HAPI tens of seconds; a read timeout shorter
    # than that would make the client retry a request the server is still working on.
    read_timeout: float = 300.0
    retries: int = Field(5, ge=0)
    backoff_factor: float = 0.5  # sleeps 0.5, 1, 2, 4 ... s (plus jitter), capped at backoff_max
    backoff_jitter: float = 0.5
    backoff_max: float = 30.0
    bearer_token: SecretStr | None = None
    basic_user: str | None = None
    basic_password: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    verify: bool = True
    ca_bundle: str | None = None
    pool_size: int = 10

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``; ValueError (without the value) when malformed."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c.isspace() for c in name):
        shown = name if sep and name and len(name) <= 40 and not any(c.isspace() for c in name) else "(value hidden)"
        raise ValueError(f"header {shown} is not in the form 'Name: value'")
    return name, value.strip()


# --------------------------------------------------------------------------- auth and redaction


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>``, with a repr that does not show the token."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def __repr__(self) -> str:
        return f"BearerAuth(token={REDACTED})"


class BasicAuth(requests.auth.HTTPBasicAuth):
    """HTTP basic auth with a repr that shows the user but not the password."""

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password={REDACTED})"


def redact_headers(headers: Mapping[str, str], secret_names: frozenset[str] = frozenset()) -> dict[str, str]:
    """A copy of ``headers`` with secret values replaced by ``***`` (the auth scheme is kept)."""
    secret = SECRET_HEADERS | {n.lower() for n in secret_names}
    out = {}
    for name, value in headers.items():
        if name.lower() in secret:
            scheme = value.split(" ", 1)[0] if name.lower().endswith("authorization") and " " in value else ""
            out[name] = f"{scheme} {REDACTED}".strip()
        else:
            out[name] = value
    return out


def redact_url(url: str) -> str:
    """``https://user:pw@host/x`` -> ``https://***@host/x``; query strings are kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


class _Session(requests.Session):
    """A session that logs each request with redacted headers and applies the default timeout."""

    def __init__(self, timeout: tuple[float, float], secret_header_names: frozenset[str]):
        super().__init__()
        self.default_timeout = timeout
        self._secret_names = secret_header_names

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs):  # type: ignore[override]
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s headers=%s", request.method, redact_url(request.url or ""),
                      redact_headers(request.headers, self._secret_names))
        return super().send(request, **kwargs)

    def __repr__(self) -> str:
        return f"<mono2fhir session auth={self.auth!r} verify={self.verify!r}>"


# --------------------------------------------------------------------------- session


def build_retry(options: ClientOptions) -> Retry:
    """The retry policy: exponential back-off with jitter on connection and read errors, 429 and
    500/502/503/504, honouring ``Retry-After`` (urllib3 applies it to 429, 503 and 413).

    POST is retried too. A mono2fhir transaction or batch contains only ``PUT Type/id`` entries (and
    reads), and PUT with a client id is idempotent: sending the same bundle twice leaves the server in
    the same state (HAPI stores no new version for an identical body). So a POST whose answer was lost
    after the server applied it can safely be sent again. Do not reuse this policy for POST-create.
    """
    return Retry(
        total=options.retries,
        connect=options.retries,
        read=options.retries,
        status=options.retries,
        other=0,
        redirect=3,
        backoff_factor=options.backoff_factor,
        backoff_jitter=options.backoff_jitter,
        backoff_max=options.backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the last response comes back and check_response maps it
    )


def build_session(options: ClientOptions | None = None) -> requests.Session:
    """A ``requests.Session`` configured from ``options`` (see ``ClientOptions``)."""
    options = options or ClientOptions()
    headers = {name: value.get_secret_value() for name, value in options.headers.items()}
    session = _Session(options.timeout, frozenset(headers))
    adapter = HTTPAdapter(max_retries=build_retry(options), pool_connections=4, pool_maxsize=options.pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": FHIR_JSON, "Content-Type": FHIR_JSON})
    session.headers.update(headers)
    if options.bearer_token is not None:
        session.auth = BearerAuth(options.bearer_token.get_secret_value())
    elif options.basic_user is not None:
        password = options.basic_password.get_secret_value() if options.basic_password else ""
        session.auth = BasicAuth(options.basic_user, password)
    if not options.verify:
        warnings.warn("TLS certificate verification is off (--insecure): the server's identity is not checked",
                      InsecureTransportWarning, stacklevel=2)
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # warned once, above
        session.verify = False
    elif options.ca_bundle:
        session.verify = options.ca_bundle
    return session


# --------------------------------------------------------------------------- status -> error


def outcome_text(body: Any) -> str | None:
    """The human text of an OperationOutcome (or of the outcome inside a Bundle response entry):
    ``severity code: diagnostics/details [at expression]`` per issue, joined with ``; ``."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return text.strip()[:500] or None
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    parts = []
    for issue in body.get("issue", []):
        message = issue.get("diagnostics") or (issue.get("details") or {}).get("text")
        if not message:
            codings = (issue.get("details") or {}).get("coding") or [{}]
            message = codings[0].get("display") or codings[0].get("code") or ""
        where = issue.get("expression") or issue.get("location") or []
        suffix = f" [at {', '.join(where)}]" if where else ""
        parts.append(f"{issue.get('severity', '?')} {issue.get('code', '?')}: {message}{suffix}".strip())
    return "; ".join(parts) or None


_ERRORS_BY_STATUS: dict[int, tuple[type[ServerError], str]] = {
    401: (AuthenticationFailed, "authentication refused (401): check --bearer-token / MONO2FHIR_TOKEN or --basic"),
    403: (AuthenticationFailed, "access refused (403): the credentials are valid but not allowed to do this"),
    404: (ServerError, "not found (404): check the --server base URL (it usually ends in /fhir)"),
    405: (ServerError, "method not allowed (405): the server does not accept this request at this URL"),
    409: (ServerError, "conflict (409)"),
    412: (ServerError, "precondition failed (412)"),
    413: (ServerError, "request too large (413): lower --batch-size"),
    415: (ServerError, "unsupported media type (415): the server does not accept FHIR JSON"),
    422: (ServerError, "unprocessable entity (422): the server rejected the resources"),
    429: (ServerError, "too many requests (429) after all retries: lower --jobs or raise --retries"),
}


def error_for_status(status: int, url: str, body: Any = None) -> ServerError | None:
    """The domain error for an HTTP status, or None when the status is a success (< 400).

    The server's OperationOutcome text is kept on the error (``outcome``); the URL is redacted.
    """
    if status < 400:
        return None
    cls, message = _ERRORS_BY_STATUS.get(status, (ServerError, ""))
    if not message:
        kind = "server error" if status >= 500 else "request refused"
        message = f"{kind} ({status})" + (" after all retries" if status in RETRY_STATUSES else "")
    return cls(f"{redact_url(url)}: {message}", status=status, outcome=outcome_text(body))


def check_response(response: requests.Response) -> requests.Response:
    """Return ``response`` if its status is a success, else raise the mapped ``ServerError``."""
    error = error_for_status(response.status_code, response.url or "", response.content)
    if error is not None:
        raise error
    return response


def send(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    """``session.request`` with transport errors wrapped as ``ServerUnreachable`` (``from`` the cause,
    URL redacted, no headers). HTTP error statuses are returned, not raised."""
    try:
        return session.request(method, url, **kwargs)
    except requests.exceptions.SSLError as exc:
        raise ServerUnreachable(f"{redact_url(url)}: TLS verification failed; give the server's CA with "
                                "--ca-bundle (or, for a test server only, --insecure)") from exc
    except requests.exceptions.RetryError as exc:
        raise ServerUnreachable(f"{redact_url(url)}: still failing after all retries ({_reason(exc)})") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise ServerUnreachable(f"{redact_url(url)}: server unreachable ({_reason(exc)}); is --server right "
                                "and the server running?") from exc


def request(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    """``send`` and then ``check_response``: the response on success, else the mapped error."""
    return check_response(send(session, method, url, **kwargs))


def _reason(exc: BaseException) -> str:
    """A short transport-error reason without URLs or headers."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, urllib3.exceptions.MaxRetryError) and inner.reason is not None:
            inner = inner.reason
            continue
        if inner.__context__ is None and not (inner.args and isinstance(inner.args[0], BaseException)):
            break
        inner = inner.args[0] if inner.args and isinstance(inner.args[0], BaseException) else inner.__context__
    name = type(inner).__name__ if inner else type(exc).__name__
    known = {"NewConnectionError": "connection refused or host not found", "ConnectTimeoutError": "connect timeout",
             "ReadTimeoutError": "read timeout", "ProtocolError": "connection dropped",
             "RemoteDisconnected": "connection dropped", "ConnectionRefusedError": "connection refused",
             "ConnectionResetError": "connection reset"}
    return known.get(name, name)


def read_resource(session: requests.Session, base_url: str, type_id: str) -> dict | None:
    """GET ``Type/id`` bypassing caches; None when the server has no such resource (404 / 410)."""
    url = f"{base_url.rstrip('/')}/{type_id}"
    try:
        response = request(session, "GET", url, headers={"Cache-Control": "no-cache"})
    except ServerError as exc:
        if exc.status in (404, 410) and not isinstance(exc, AuthenticationFailed):
            return None
        raise
    return response.json()


def validate_on_server(session: requests.Session, base_url: str, resource: dict) -> dict:
    """``POST [base]/Type/$validate`` and return the OperationOutcome.

    HAPI answers 200 when there is no error and 412 when there is one; both carry the
    OperationOutcome, so both are returned. Other statuses raise the mapped ``ServerError``.
    """
    url = f"{base_url.rstrip('/')}/{resource['resourceType']}/$validate"
    response = send(session, "POST", url, data=json.dumps(resource).encode("utf-8"))
    if response.status_code in (200, 412):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
            return body
    check_response(response)
    raise ServerError(f"{redact_url(url)}: $validate answered {response.status_code} without an OperationOutcome",
                      status=response.status_code)


def capability(session: requests.Session, base_url: str) -> dict:
    """``GET [base]/metadata``: the CapabilityStatement (checks reachability, auth and version)."""
    return request(session, "GET", f"{base_url.rstrip('/')}/metadata").json()


FHIR_RELEASES: dict[str, str] = {"4.0": "R4", "4.3": "R4B", "5.0": "R5"}


def server_fhir_version(capability_statement: dict) -> str | None:
    """``"R4"`` / ``"R5"`` from a CapabilityStatement's ``fhirVersion`` (``4.0.1``, ``5.0.0``)."""
    version = str(capability_statement.get("fhirVersion", ""))
    return FHIR_RELEASES.get(".".join(version.split(".")[:2]))


ProgressCallback = Callable[[int, int], None]
