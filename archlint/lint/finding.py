"""A finding: one defect a rule reports, with where it is."""

from __future__ import annotations

from dataclasses import field
from enum import Enum

from archlint.records import Record, described, record


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@record
class Location(Record):
    """Where a finding points: a repo file and, for JSON files, a pointer with its 1-based line
    and column (in code points); in a binary file (a shard), the tensor instead of a line."""

    file: str | None = None
    pointer: str | None = None
    line: int | None = None
    column: int | None = None
    tensor: str | None = None


@record
class Finding(Record):
    code: str
    name: str
    severity: Severity
    message: str
    message_id: str = described("key of the rule's message template", "default")
    location: Location = field(default_factory=Location)
