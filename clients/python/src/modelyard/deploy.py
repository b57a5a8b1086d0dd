"""``client.deploy``: who answers a model's traffic (production, pilots) and who listens (silent versions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional
from urllib.parse import quote

from ._frames import pandas
from .errors import NotFoundError
from .types import DeploymentRevision

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .client import Client


def _enc(s: str) -> str:
    return quote(str(s), safe="")


class Deployments:
    """``client.deploy``: who answers a model's traffic. Each change is a read-modify-write of the newest
    revision (like the CLI's ``modelyard deploy``) and returns the new :class:`DeploymentRevision`
    (``.to_frame()``: one row per role)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def show(self, name: str) -> Optional[DeploymentRevision]:
        cur = self._c._json("GET", f"/v1/models/{_enc(name)}/deployment").get("current")
        return DeploymentRevision.from_json(name, cur) if cur else None

    def _config(self, name: str) -> Dict[str, Any]:
        cur = self.show(name)
        return dict(cur.config) if cur else {"production": {"mode": "stage"}, "pilots": [], "silent": []}

    def _put(self, name: str, config: Mapping[str, Any], comment: str) -> DeploymentRevision:
        return DeploymentRevision.from_json(
            name,
            self._c._json(
                "PUT", f"/v1/models/{_enc(name)}/deployment", json_body={"config": config, "comment": comment}
            ),
        )

    def pilot(
        self,
        name: str,
        version: int,
        *,
        groups: Iterable[str] = (),
        percentage: float = 0,
        comment: str = "",
        auto_rollback: Optional[Mapping[str, Any]] = None,
    ) -> DeploymentRevision:
        """Serves ``version`` to members of ``groups`` (names or ids) and/or a sticky ``percentage`` of callers."""
        wanted = list(groups)
        ids: List[str] = []
        if wanted:
            known = self._c._json("GET", "/v1/groups")
            for g in wanted:
                match = next((k for k in known if g in (k.get("name"), k.get("id"))), None)
                if match is None:
                    raise NotFoundError(404, "NOT_FOUND", f"no group named {g}")
                ids.append(match["id"])
        if not ids and not percentage:
            raise ValueError("a pilot needs groups= and/or percentage=")
        cfg = self._config(name)
        pilot: Dict[str, Any] = {"version": int(version), "groups": ids, "percentage": percentage}
        if auto_rollback:
            pilot["autoRollback"] = dict(auto_rollback)
        cfg["pilots"] = [p for p in cfg.get("pilots", []) if p["version"] != int(version)] + [pilot]
        return self._put(name, cfg, comment)

    def silent(self, name: str, version: int, *, sample_rate: float = 1.0, comment: str = "") -> DeploymentRevision:
        """Mirrors a sample of production traffic to ``version``; its answers are compared, never returned."""
        cfg = self._config(name)
        cfg["silent"] = [s for s in cfg.get("silent", []) if s["version"] != int(version)] + [
            {"version": int(version), "sampleRate": sample_rate}
        ]
        return self._put(name, cfg, comment)

    def production(self, name: str, version: Optional[int] = None, *, comment: str = "") -> DeploymentRevision:
        """Pins production to ``version``, or (``None``) serves whatever is in the Production stage."""
        cfg = self._config(name)
        cfg["production"] = {"mode": "pinned", "version": int(version)} if version is not None else {"mode": "stage"}
        return self._put(name, cfg, comment)

    def rollback(self, name: str, *, revision: Optional[int] = None, comment: str = "") -> DeploymentRevision:
        """A new revision with an earlier one's configuration (default: the one before the current)."""
        body: Dict[str, Any] = {"comment": comment}
        if revision is not None:
            body["revision"] = int(revision)
        return DeploymentRevision.from_json(
            name, self._c._json("POST", f"/v1/models/{_enc(name)}/deployment/rollback", json_body=body)
        )

    def revisions(self, name: str) -> "pd.DataFrame":
        page = self._c._json("GET", f"/v1/models/{_enc(name)}/deployment/revisions")
        revs = [DeploymentRevision.from_json(name, r) for r in page["items"]]
        return pandas().DataFrame(
            [
                {"revision": r.revision, "comment": r.comment, "created_at": r.created_at, "config": r.config}
                for r in revs
            ],
            columns=["revision", "comment", "created_at", "config"],
        )
