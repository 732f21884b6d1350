"""The data of a push: options and report (pydantic, the public API) and the resources in flight
(``Item``, grouped per monograph in a ``Group``; ``Result``, what the server did with one item)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ..client import ClientOptions
from ..errors import EXIT_OK, EXIT_SOME_FAILED, Mono2FhirError

Action = Literal["created", "updated", "unchanged", "failed"]


class PushUsageError(Mono2FhirError):
    """The inputs or options cannot be pushed as given (exit 2)."""


# --------------------------------------------------------------------------- options and report


class PushOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    server: str
    fhir_version: Literal["R4", "R5"] | None = None  # None: the server's
    batch_size: int = Field(100, ge=1)  # resources per bundle; one monograph is never split
    bundle_type: Literal["transaction", "batch"] = "transaction"
    jobs: int = Field(4, ge=1)
    dry_run: bool = False
    verify: bool = False
    client: ClientOptions = Field(default_factory=ClientOptions)


class EntryFailure(BaseModel):
    monograph: str
    resource: str | None = None  # Type/id; None when the whole input failed
    status: int | None = None
    outcome: str


class EntryResult(BaseModel):
    monograph: str
    resource: str  # Type/id
    action: Action
    status: int | None = None


class Difference(BaseModel):
    monograph: str
    resource: str
    path: str  # FHIRPath-like: MedicationKnowledge.dosage[0].type
    sent: str | None = None
    stored: str | None = None


class PlannedChange(BaseModel):
    monograph: str
    resource: str
    action: Literal["create", "update", "unchanged"]
    paths: list[str] = []  # for "update": what differs


class PushReport(BaseModel):
    server: str
    fhir_version: str | None = None
    bundle_type: str = "transaction"
    dry_run: bool = False
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[EntryFailure] = []
    entries: list[EntryResult] = []  # one per resource sent, in completion order
    plan: list[PlannedChange] = []
    verified: int = 0
    differences: list[Difference] = []
    bundles: int = 0
    retried_bundles: int = 0  # bundles whose POST was retried (503, 429, dropped connection ...)
    recovered: int = 0  # entries a lost-but-applied attempt had written, counted as created/updated
    elapsed_s: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resources_per_second(self) -> float:
        return round(self.total / self.elapsed_s, 1) if self.elapsed_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.failures and not self.differences

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_SOME_FAILED

    def count(self, action: Action) -> None:
        setattr(self, action, getattr(self, action) + 1)


# --------------------------------------------------------------------------- resources in flight


@dataclass
class Item:
    type: str
    id: str
    body: dict  # as it will be sent (references to bundle members are urn:uuid)
    full_url: str

    @property
    def key(self) -> str:
        return f"{self.type}/{self.id}"


@dataclass
class Group:
    """The resources of one monograph. ``label`` names it in the report (the monograph's path)."""

    label: str
    items: list[Item] = field(default_factory=list)


class Result(NamedTuple):
    """What the server did with one item."""

    group: Group
    item: Item
    action: Action
    status: int  # HTTP status of the entry (of the whole bundle when it was rejected as a whole)
    outcome: str | None  # the OperationOutcome's text, for a failed entry

    @property
    def rejected(self) -> bool:
        """Refused with a 4xx: worth sending again in smaller or later bundles."""
        return self.action == "failed" and 400 <= self.status < 500
