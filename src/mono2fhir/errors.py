"""Exceptions and exit codes.

Exception tree::

    Mono2FhirError                 base of everything the library raises on purpose
     ├── MonographError            a monograph cannot be read (path, line)
     ├── MappingError              a mappings/ table is malformed or missing
     └── ServerError               a FHIR server answered with an error (status, outcome text)
          ├── ServerUnreachable    no answer at all: connection refused, DNS, TLS, timeout (status None)
          └── AuthenticationFailed 401 / 403: the credentials or the access were refused

Exit codes (the contract scripts rely on; asserted in tests/test_cli.py):

    ====  =========================================================================
    0     everything succeeded
    1     some inputs failed (bad monograph, validation errors, rejected entries);
          the others were still processed and written
    2     usage error (bad option, missing input, unreadable --mappings)
    3     the server could not be reached or refused us (connection, auth, TLS)
    ====  =========================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_SERVER = 3


class Mono2FhirError(Exception):
    """Base class of mono2fhir's errors."""


class MonographError(Mono2FhirError):
    """A monograph file could not be parsed. ``line`` is 1-based, or None when unknown."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


class MappingError(Mono2FhirError):
    """A mapping table is malformed."""


class ServerError(Mono2FhirError):
    """The FHIR server answered with an error. ``outcome`` is the OperationOutcome's text, if any."""

    def __init__(self, message: str, status: int | None = None, outcome: str | None = None):
        self.status = status
        self.outcome = outcome
        super().__init__(message if not outcome else f"{message}: {outcome}")


class ServerUnreachable(ServerError):
    """The server could not be reached (connection, DNS, TLS or timeout). ``status`` is None."""


class AuthenticationFailed(ServerError):
    """The server refused our credentials (401) or our access (403)."""
