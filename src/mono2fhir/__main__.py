"""``python -m mono2fhir``."""

from .cli import main

main()
