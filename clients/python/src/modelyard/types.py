"""What the API returns, as typed dataclasses. Each keeps the whole JSON answer in ``raw`` too, so fields the
API adds later are there before this package names them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: int
    status: str
    stage: str
    failure_reason: Optional[str]
    aliases: List[str]
    sha256: Optional[str]
    size_bytes: Optional[int]
    metrics: Dict[str, float]
    tags: Dict[str, str]
    has_reference: bool
    signature: Optional[Dict[str, Any]]
    created_at: str
    raw: Dict[str, Any] = field(repr=False, compare=False)

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "ModelVersion":
        return cls(
            model=j["model"],
            version=int(j["version"]),
            status=j["status"],
            stage=j["stage"],
            failure_reason=j.get("failureReason"),
            aliases=list(j.get("aliases") or []),
            sha256=j.get("sha256"),
            size_bytes=j.get("sizeBytes"),
            metrics=dict(j.get("metrics") or {}),
            tags=dict(j.get("tags") or {}),
            has_reference=bool(j.get("hasReference")),
            signature=j.get("signature"),
            created_at=j.get("createdAt", ""),
            raw=j,
        )


@dataclass(frozen=True)
class StageTransition:
    """``outcome`` is ``transitioned``, or ``approval_requested`` when the model's policy needs a second approver."""

    outcome: str
    version: ModelVersion
    archived: List[int]
    approval_request_id: Optional[str]
    raw: Dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "StageTransition":
        return cls(
            outcome=j["outcome"],
            version=ModelVersion.from_json(j["version"]),
            archived=list(j.get("archived") or []),
            approval_request_id=j.get("approvalRequestId"),
            raw=j,
        )


@dataclass(frozen=True)
class Job:
    id: str
    type: str
    status: str
    model: str
    version: Optional[int]
    progress: float
    rows_in: int
    rows_out: int
    rows_failed: int
    input_uri: Optional[str]
    output_uri: Optional[str]
    errors_uri: Optional[str]
    error: Optional[str]
    raw: Dict[str, Any] = field(repr=False, compare=False)
    #: Bytes of the job's files the platform stores (upload, output, errors), counted in the project's quota.
    stored_bytes: int = 0

    @property
    def done(self) -> bool:
        return self.status not in ("queued", "running")

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Job":
        return cls(
            id=j["id"],
            type=j["type"],
            status=j["status"],
            model=j["model"],
            version=j.get("version"),
            progress=float(j.get("progress") or 0),
            rows_in=int(j.get("rowsIn") or 0),
            rows_out=int(j.get("rowsOut") or 0),
            rows_failed=int(j.get("rowsFailed") or 0),
            input_uri=j.get("inputUri"),
            output_uri=j.get("outputUri"),
            errors_uri=j.get("errorsUri"),
            error=j.get("error"),
            raw=j,
            stored_bytes=int(j.get("storedBytes") or 0),
        )


@dataclass(frozen=True)
class DeploymentRevision:
    """One revision of a model's deployment: who answers (production, pilots) and who listens (silent)."""

    model: str
    revision: int
    config: Dict[str, Any]
    comment: str
    created_at: str
    raw: Dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, model: str, j: Dict[str, Any]) -> "DeploymentRevision":
        return cls(
            model=model,
            revision=int(j["revision"]),
            config=j["config"],
            comment=j.get("comment", ""),
            created_at=j.get("createdAt", ""),
            raw=j,
        )

    def rows(self) -> List[Dict[str, Any]]:
        """One row per serving role: production, each pilot, each silent version."""
        c = self.config
        prod = c.get("production") or {"mode": "stage"}
        out: List[Dict[str, Any]] = [
            {
                "role": "production",
                "version": prod.get("version"),
                "mode": prod.get("mode"),
                "groups": [],
                "percentage": None,
                "sample_rate": None,
            }
        ]
        for p in c.get("pilots") or []:
            out.append(
                {
                    "role": "pilot",
                    "version": p["version"],
                    "mode": None,
                    "groups": list(p.get("groups") or []),
                    "percentage": p.get("percentage", 0),
                    "sample_rate": None,
                }
            )
        for s in c.get("silent") or []:
            out.append(
                {
                    "role": "silent",
                    "version": s["version"],
                    "mode": None,
                    "groups": [],
                    "percentage": None,
                    "sample_rate": s.get("sampleRate", 1),
                }
            )
        return out

    def to_frame(self) -> "pd.DataFrame":
        from ._frames import pandas

        df = pandas().DataFrame(self.rows(), columns=["role", "version", "mode", "groups", "percentage", "sample_rate"])
        df.attrs.update(model=self.model, revision=self.revision)
        return df
