"""Deterministic identities: resource ids from titles, bundle fullUrls from "Type/id".

The same title always gives the same id, so a re-export is byte-identical and a re-push updates the
same resources in place. Ids are also file names, so they never contain a path separator or dots.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid

MAX_ID = 64
# Room left for the longest sub-resource suffix ("-cud-undesirable-effect-999") within FHIR's 64.
MAX_SLUG = MAX_ID - len("-cud-undesirable-effect-999")

# A fixed namespace so urn:uuid fullUrls are stable across runs and machines.
NAMESPACE = uuid.UUID("5b0b6f1e-9a57-4c59-9d5e-6d6f6e6f3266")


def slug(title: str) -> str:
    """ASCII, lower case, ``[a-z0-9-]``, at least one letter, short enough for every sub-resource id.

    A title that is too long is cut and given a short hash of the whole title, so two long titles
    with the same start still get different ids.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    digest = hashlib.sha256(title.encode("utf-8")).hexdigest()[:8]
    if not re.search(r"[a-z]", text):
        text = f"drug-{text}" if text else f"drug-{digest}"
    if len(text) > MAX_SLUG:
        text = text[: MAX_SLUG - 9].rstrip("-") + "-" + digest
    return text


def full_url(resource_type: str, resource_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{resource_type}/{resource_id}')}"


class ResourceIds:
    """The ids of one monograph's resources (DESIGN.md §4)."""

    def __init__(self, slug: str):
        self.slug = slug
        self.medication = slug
        self.document = f"{slug}-doc"
        self.provenance = f"{slug}-prov"

    def contraindication(self, n: int) -> str:
        return f"{self.slug}-ci-{n}"

    def clinical_use(self, kind: str, n: int) -> str:
        return f"{self.slug}-cud-{kind}-{n}"
