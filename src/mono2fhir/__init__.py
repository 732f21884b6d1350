"""mono2fhir: drug monographs -> FHIR R4/R5 MedicationKnowledge bundles.

Pipeline (one module or package each): parse -> extract -> terminology -> build -> validate ->
io (files) / client (server) -> cli.
"""

__version__ = "0.1.0"
