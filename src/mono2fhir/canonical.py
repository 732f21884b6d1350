"""Canonical URLs mono2fhir defines for its own extensions and identifiers.

They are data shared by the builders (which write them) and the validators and readers (which look
for them), so they live in one place.
"""

BASE = "http://mono2fhir.org/fhir"

# valueBoolean on MedicationKnowledge: the monograph's ``is_banned``.
EXT_BANNED = f"{BASE}/StructureDefinition/monograph-banned"

# valueString "path:line" on any resource or element built from a monograph statement, so a finding on
# an exported file can name the monograph line it came from.
EXT_SOURCE = f"{BASE}/StructureDefinition/source-location"

# Default system of the R5 MedicationKnowledge.identifier (configurable with --identifier-system).
IDENTIFIER_SYSTEM = f"{BASE}/monograph-id"
