"""The ``mono2fhir`` command line: a thin click layer over the library.

Each command lives in its own module and only adapts: it parses options into a typed object, calls
one library function, prints the report and maps the outcome to an exit code (see ``errors``).
"""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mono2fhir")
def main() -> None:
    """Convert drug monographs into FHIR MedicationKnowledge bundles, validate them, and push them
    to a FHIR server.

    \b
    Typical use:
      mono2fhir export examples/ --out out/        # monographs -> FHIR R4 transaction bundles
      mono2fhir inspect examples/metformin.md      # what was understood, and where it went
      mono2fhir validate out/                      # layered validation of bundles or monographs
      mono2fhir push out/ --server http://localhost:8080/fhir
    """


def _register() -> None:
    # Imported here so that each command module can import ``main``-free helpers from the library
    # without a cycle. One line per command module.
    from . import export  # noqa: F401
    from . import inspect  # noqa: F401
    from . import push  # noqa: F401
    from . import validate  # noqa: F401


_register()
