"""A finding: one defect a rule reports, with where it is."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Location(BaseModel):
    """Where a finding points: a repo file and, for JSON files, a pointer with its 1-based line
    and column (in code points); in a binary file (a shard), the tensor instead of a line."""

    file: str | None = None
    pointer: str | None = None
    line: int | None = None
    column: int | None = None
    tensor: str | None = None


class Finding(BaseModel):
    code: str
    name: str
    severity: Severity
    message: str
    message_id: str = Field(default="default", description="key of the rule's message template")
    location: Location = Field(default_factory=Location)
