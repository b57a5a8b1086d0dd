"""The Modelyard client: one :class:`Client` per platform and key, a thin, typed layer over the REST API (the
same routes as the CLI and the dashboard; see the repository's docs/ARCHITECTURE.md)."""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Union, cast, overload
from urllib.parse import quote

import httpx

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from ._version import __version__
from ._frames import clean, frame_to_records, frame_to_reference, is_dataframe, is_ndarray, pandas
from ._upload import Progress, Source, label_of, multipart, progress_reporter, source_size
from .errors import (
    ApiError,
    ConfigurationError,
    JobFailedError,
    NetworkError,
    NotFoundError,
    UploadInterruptedError,
    VersionFailedError,
    WaitTimeoutError,
    error_for_status,
)
from .deploy import Deployments
from .types import Job, ModelVersion, StageTransition

DEFAULT_URL = "http://127.0.0.1:8080"
STAGES = ("None", "Staging", "Production", "Archived")

Rows = Union["pd.DataFrame", Sequence[Mapping[str, Any]], Sequence[Sequence[Any]], Any]
Reference = Union["pd.DataFrame", Mapping[str, Any]]


def _enc(s: Union[str, int]) -> str:
    return quote(str(s), safe="")


def _iso(t: Union[str, datetime, None]) -> Optional[str]:
    if t is None or isinstance(t, str):
        return t
    if t.tzinfo is None:
        raise ValueError("give timezone-aware datetimes (e.g. datetime.now(timezone.utc))")
    return t.isoformat()


class Client:
    """A connection to one Modelyard platform with one API key.

    ``url`` and ``api_key`` default to the ``MODELYARD_URL`` and ``MODELYARD_API_KEY`` environment variables
    (the CLI's), and the URL to http://127.0.0.1:8080. ``progress`` (default on) shows tqdm bars for uploads
    and batch jobs; each call may override it with ``False``, ``True`` or a ``callback(done, total)``.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: float = 60.0,
        progress: bool = True,
        poll_interval: float = 0.5,
    ) -> None:
        self.url = (url or os.environ.get("MODELYARD_URL") or DEFAULT_URL).rstrip("/")
        key = api_key or os.environ.get("MODELYARD_API_KEY")
        if not key:
            raise ConfigurationError("no API key: pass api_key=... or set MODELYARD_API_KEY")
        self.progress = progress
        self.poll_interval = poll_interval
        self._http = httpx.Client(
            base_url=self.url + "/",
            headers={
                "authorization": f"Bearer {key}",
                "user-agent": f"modelyard-python/{__version__}",
                "accept": "application/json",
            },
            timeout=timeout,
        )
        self.deploy = Deployments(self)

    # ---- plumbing ----

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"modelyard.Client({self.url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Optional[Mapping[str, Any]] = None,
        content: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> httpx.Response:
        """One call to the API; any error status becomes the matching :class:`~modelyard.errors.ApiError`."""
        hdrs = dict(headers or {})
        body = content
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode()
            hdrs["content-type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            res = self._http.request(
                method,
                path,
                content=body,
                params=query,
                headers=hdrs,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as e:
            if isinstance(e, (httpx.WriteError, httpx.ReadError)) and "content-length" in hdrs and body is content:
                # The API refuses an upload over MAX_UPLOAD_BYTES by answering 413 and dropping the connection
                # without reading the rest; a client that writes the whole body first (httpx) sees only the reset.
                raise UploadInterruptedError(
                    f"the connection closed while uploading {int(hdrs['content-length']):,} bytes to {path}: the "
                    f"platform drops uploads over its limit (MAX_UPLOAD_BYTES) this way, or the network failed ({e})"
                ) from e
            raise NetworkError(f"cannot reach {self.url}: {e}") from e
        if res.status_code >= 400:
            raise self._error(method, path, res)
        return res

    @staticmethod
    def _error(method: str, path: str, res: httpx.Response) -> ApiError:
        retry_after: Optional[float] = None
        try:
            retry_after = float(res.headers.get("retry-after", ""))
        except ValueError:
            pass
        try:
            err = res.json().get("error")
        except (ValueError, AttributeError):
            err = None
        if isinstance(err, dict) and isinstance(err.get("code"), str):
            return error_for_status(
                res.status_code,
                err["code"],
                str(err.get("message", "")),
                error_id=err.get("errorId"),
                details=err.get("details"),
                retry_after=retry_after,
            )
        return error_for_status(
            res.status_code, "BAD_RESPONSE", f"HTTP {res.status_code} from {method} {path}", retry_after=retry_after
        )

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()

    def _obj(self, method: str, path: str, **kw: Any) -> Dict[str, Any]:
        out: Dict[str, Any] = self._json(method, path, **kw)
        return out

    def _progress(self, p: Progress) -> Progress:
        return self.progress if p is None else p

    # ---- registry ----

    def me(self) -> Dict[str, Any]:
        """Who the key belongs to: ``{"principal": {...}, ...}`` as ``GET /v1/me`` answers."""
        return self._obj("GET", "/v1/me")

    def model(self, name: str) -> Dict[str, Any]:
        """The registered model: latest and production versions, staging versions, aliases, tags."""
        return self._obj("GET", f"/v1/models/{_enc(name)}")

    def models(self, search: Optional[str] = None) -> "pd.DataFrame":
        """Every model the key can see, one row each (all pages)."""
        items: List[Dict[str, Any]] = []
        cursor: Optional[str] = None
        while True:
            page = self._json("GET", "/v1/models", params={"search": search, "limit": 200, "cursor": cursor})
            items += page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                break
        rows = [
            {
                "name": m["name"],
                "latest_version": m.get("latestVersion"),
                "production_version": m.get("productionVersion"),
                "staging_versions": m.get("stagingVersions", []),
                "aliases": m.get("aliases", {}),
                "tags": m.get("tags", {}),
                "updated_at": m.get("updatedAt"),
            }
            for m in items
        ]
        return pandas().DataFrame(
            rows,
            columns=[
                "name",
                "latest_version",
                "production_version",
                "staging_versions",
                "aliases",
                "tags",
                "updated_at",
            ],
        )

    def version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.from_json(self._json("GET", f"/v1/models/{_enc(name)}/versions/{int(version)}"))

    def versions(self, name: str) -> "pd.DataFrame":
        """A model's versions, newest first: status, stage, aliases, metrics, checksum."""
        vs = [ModelVersion.from_json(j) for j in self._json("GET", f"/v1/models/{_enc(name)}/versions")]
        cols = [
            "version",
            "status",
            "stage",
            "aliases",
            "failure_reason",
            "metrics",
            "tags",
            "has_reference",
            "sha256",
            "created_at",
        ]
        return pandas().DataFrame([{c: getattr(v, c) for c in cols} for v in vs], columns=cols)

    def register(
        self,
        name: str,
        onnx: Source,
        *,
        reference: Optional[Reference] = None,
        metrics: Optional[Mapping[str, float]] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: str = "",
        lineage: Optional[Mapping[str, str]] = None,
        signature: Optional[Mapping[str, Any]] = None,
        sample_input: Optional[Rows] = None,
        stage: Optional[str] = None,
        wait: bool = True,
        timeout: float = 300.0,
        progress: Progress = None,
        parity_with: Optional[Callable[[Any], Any]] = None,
        parity_rows: Optional[Any] = None,
        parity_atol: float = 1e-4,
    ) -> ModelVersion:
        """Uploads an ONNX model (a path or its bytes) as a new version of ``name`` (created if new).

        ``reference``: the drift baseline, a DataFrame of feature rows (or ``{"feature_names", "rows"}``).
        ``parity_with``: the original model's ``predict_proba`` (or ``predict``); the ONNX file must answer like
        it on ``parity_rows`` (default: the first 200 reference rows) before anything is uploaded, else
        :class:`~modelyard.errors.ParityError`. With ``wait`` (default) returns once the worker validated the
        version (and built the drift profile of its reference) and raises
        :class:`~modelyard.errors.VersionFailedError` if it failed; ``stage`` then moves it.
        """
        if stage is not None and stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}")
        ref = None
        if reference is not None:
            ref = (
                frame_to_reference(reference)
                if is_dataframe(reference)
                else {"feature_names": list(reference["feature_names"]), "rows": clean(list(reference["rows"]))}
            )
        if parity_with is not None:
            from .parity import check_parity

            rows = parity_rows
            if rows is None:
                if reference is None:
                    raise ValueError("parity_with needs parity_rows (or a reference to take sample rows from)")
                frame: Any = reference
                rows = frame.head(200) if is_dataframe(frame) else ref["rows"][:200]  # type: ignore[index]
            check_parity(onnx, parity_with, rows, atol=parity_atol).raise_for_mismatch()
        spec: Dict[str, Any] = {
            "description": description,
            "tags": dict(tags or {}),
            "metrics": {k: float(v) for k, v in (metrics or {}).items()},
            "lineage": dict(lineage or {}),
        }
        if ref is not None:
            spec["reference"] = ref
        if signature is not None:
            spec["signature"] = dict(signature)
        if sample_input is not None:
            spec["sampleInput"] = _payload(sample_input)[0]
        report, close = progress_reporter(
            self._progress(progress), f"uploading {label_of(onnx, 'model.onnx')}", source_size(onnx)
        )
        body, headers = multipart(spec, onnx, label_of(onnx, "model.onnx") or "model.onnx", report)
        try:
            j = self._json(
                "POST",
                f"/v1/models/{_enc(name)}/versions",
                content=body,
                headers=headers,
                timeout=max(300.0, self._http.timeout.read or 0),
            )
        finally:
            close()
        v = ModelVersion.from_json(j)
        if not wait and stage is None:
            return v
        v = self.wait_version(name, v.version, timeout=timeout)
        if ref is not None:
            # Predictions logged before the profile exists are never folded into drift windows: wait for it.
            self.wait_drift_profile(name, v.version, timeout=timeout)
        if stage is not None and v.stage != stage:
            v = self.promote(name, v.version, stage=stage, comment="registered from Python").version
        return v

    def wait_version(self, name: str, version: int, *, timeout: float = 300.0) -> ModelVersion:
        """Waits until a version leaves ``pending``; raises :class:`VersionFailedError` if it failed."""
        until = time.monotonic() + timeout
        while True:
            v = self.version(name, version)
            if v.status == "failed":
                raise VersionFailedError(
                    f"{name} v{version} failed validation: {v.failure_reason}", version=v, reason=v.failure_reason
                )
            if v.status != "pending":
                return v
            if time.monotonic() > until:
                raise WaitTimeoutError(f"{name} v{version} still pending after {timeout:g} s")
            time.sleep(self.poll_interval)

    def drift_profile(self, name: str, version: int) -> Dict[str, Any]:
        """A version's reference profile (``status`` building, ready or failed; bins per column)."""
        return self._obj("GET", f"/v1/models/{_enc(name)}/versions/{int(version)}/drift-profile")

    def wait_drift_profile(self, name: str, version: int, *, timeout: float = 300.0) -> Dict[str, Any]:
        """Waits until the worker has built the reference profile of a version registered with a reference
        (queued when the version became ready); a profile that failed is returned with its ``error``, and
        a warning, since the version itself serves."""
        until = time.monotonic() + timeout
        while True:
            try:
                p = self.drift_profile(name, version)
                if p.get("status") != "building":
                    if p.get("status") == "failed":
                        warnings.warn(f"{name} v{version}: the drift profile failed: {p.get('error')}", stacklevel=3)
                    return p
            except NotFoundError:
                pass  # the profile job has not started yet
            if time.monotonic() > until:
                raise WaitTimeoutError(f"the drift profile of {name} v{version} is not built after {timeout:g} s")
            time.sleep(self.poll_interval)

    def promote(
        self, name: str, version: int, stage: str = "Production", *, comment: str = "", archive_previous: bool = True
    ) -> StageTransition:
        """Moves a version to a stage (Production needs an approver's key; with the model's approval policy the
        outcome is ``approval_requested``)."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}")
        return StageTransition.from_json(
            self._json(
                "POST",
                f"/v1/models/{_enc(name)}/versions/{int(version)}/stage",
                json_body={"stage": stage, "comment": comment, "archivePrevious": archive_previous},
            )
        )

    def set_alias(self, name: str, alias: str, version: int, *, comment: str = "") -> Dict[str, Any]:
        return self._obj(
            "PUT",
            f"/v1/models/{_enc(name)}/aliases/{_enc(alias)}",
            json_body={"version": int(version), "comment": comment},
        )

    def delete_alias(self, name: str, alias: str) -> Dict[str, Any]:
        return self._obj("DELETE", f"/v1/models/{_enc(name)}/aliases/{_enc(alias)}")

    # ---- serving ----

    def _predict_path(self, name: str, version: Optional[int], alias: Optional[str], stage: Optional[str]) -> str:
        if sum(x is not None for x in (version, alias, stage)) > 1:
            raise ValueError("give at most one of version=, alias= and stage=")
        base = f"/v1/models/{_enc(name)}"
        if stage is not None:
            version = self._stage_version(name, stage)
        if version is not None:
            return f"{base}/versions/{int(version)}/predict"
        if alias is not None:
            return f"{base}/aliases/{_enc(alias)}/predict"
        return f"{base}/predict"

    def _stage_version(self, name: str, stage: str) -> int:
        m = self.model(name)
        if stage == "Production" and m.get("productionVersion"):
            return int(m["productionVersion"])
        if stage == "Staging" and m.get("stagingVersions"):
            return int(max(m["stagingVersions"]))
        if stage not in ("Production", "Staging"):
            raise ValueError("stage= is Production or Staging (the stages that serve)")
        raise NotFoundError(404, "NOT_FOUND", f"no version of {name} is in {stage}")

    def predict_records(
        self,
        name: str,
        data: Rows,
        *,
        version: Optional[int] = None,
        alias: Optional[str] = None,
        stage: Optional[str] = None,
        batch_size: int = 1000,
    ) -> Dict[str, Any]:
        """The API's answer as it comes (``predictions``, ``predictions_prob``, ``classes``, ``version``), plus
        ``role`` (production, pilot, explicit). Needs no pandas. See :meth:`predict` for ``batch_size``."""
        payload, _ = _payload(data)
        return self._predict(name, payload, version, alias, stage, batch_size)

    def _predict(
        self,
        name: str,
        payload: List[Any],
        version: Optional[int],
        alias: Optional[str],
        stage: Optional[str],
        batch_size: int,
    ) -> Dict[str, Any]:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        path = self._predict_path(name, version, alias, stage)
        merged: Dict[str, Any] = {}
        versions = set()
        for start in range(0, max(len(payload), 1), batch_size):
            res = self.request("POST", path, json_body={"payload": payload[start : start + batch_size]})
            body: Dict[str, Any] = res.json()
            versions.add(body.get("version"))
            if not merged:
                merged = dict(body, role=res.headers.get("x-deployment-role"))
                merged["predictions"] = list(body.get("predictions") or [])
                if body.get("predictions_prob") is not None:
                    merged["predictions_prob"] = list(body["predictions_prob"])
                continue
            merged["predictions"] += body.get("predictions") or []
            if "predictions_prob" in merged:
                merged["predictions_prob"] += body.get("predictions_prob") or []
        if len(versions) > 1:  # the model was promoted between two batches: say so rather than pick one
            merged["version"] = sorted(v for v in versions if v is not None)
        return merged

    def predict(
        self,
        name: str,
        data: Rows,
        *,
        version: Optional[int] = None,
        alias: Optional[str] = None,
        stage: Optional[str] = None,
        batch_size: int = 1000,
    ) -> "pd.DataFrame":
        """Predictions for rows: a DataFrame (columns are features), a list of ``{feature: value}`` records, or
        a 2-D array / list of lists in the model's input order. Returns one row per input row (a DataFrame
        keeps its index): ``prediction`` and, for classifiers, ``probability_<class>`` per class. ``df.attrs``
        holds ``model``, ``version`` (the version that answered; a list if a promotion happened between
        batches) and ``role``. Without ``version``/``alias``/``stage`` the deployment decides (production, or a
        pilot the key is routed to). Rows go in requests of ``batch_size`` (the API caps a request's body at
        ``MAX_BODY_BYTES``, 1 MiB by default, and its rows at ``MAX_ROWS_PER_REQUEST``); for files of millions of
        rows, :meth:`score` is the better road."""
        pd = pandas()
        payload, index = _payload(data)
        body = self._predict(name, payload, version, alias, stage, batch_size)
        df = pd.DataFrame(_prediction_columns(body), index=index)
        df.attrs.update(model=body.get("model", name), version=body.get("version"), role=body.get("role"))
        return df

    # ---- batch scoring ----

    @overload
    def score(
        self,
        name: str,
        data: Union[Source, "pd.DataFrame"],
        *,
        version: Optional[int] = ...,
        alias: Optional[str] = ...,
        id_column: Optional[str] = ...,
        wait: Literal[True] = ...,
        timeout: float = ...,
        progress: Progress = ...,
    ) -> "pd.DataFrame": ...

    @overload
    def score(
        self,
        name: str,
        data: Union[Source, "pd.DataFrame"],
        *,
        version: Optional[int] = ...,
        alias: Optional[str] = ...,
        id_column: Optional[str] = ...,
        wait: Literal[False],
        timeout: float = ...,
        progress: Progress = ...,
    ) -> Job: ...

    def score(
        self,
        name: str,
        data: Union[Source, "pd.DataFrame"],
        *,
        version: Optional[int] = None,
        alias: Optional[str] = None,
        id_column: Optional[str] = None,
        wait: bool = True,
        timeout: float = 3600.0,
        progress: Progress = None,
    ) -> Union["pd.DataFrame", Job]:
        """A batch scoring job on a CSV (with a header) or JSON Lines file, or a DataFrame (sent as CSV).

        The file is streamed up; the workers score it in chunks. With ``wait`` (default) a progress bar follows
        the job and the scored rows come back as a DataFrame (input columns, or ``id_column`` alone, then
        ``prediction`` and ``probability_<class>``; ``df.attrs["job"]`` is the :class:`Job`); rows the model
        could not take are in the job's errors file. Without ``wait``, returns the queued :class:`Job`.
        A ``progress`` callback sees the upload in bytes, then the job in percent (``done`` of 100)."""
        if version is not None and alias is not None:
            raise ValueError("give version= or alias=, not both")
        spec: Dict[str, Any] = {"model": name}
        if version is not None:
            spec["version"] = int(version)
        if alias is not None:
            spec["alias"] = alias
        if id_column is not None:
            spec["output"] = {"columns": "id", "idColumn": id_column}
        if is_dataframe(data):
            frame: Any = data
            src: Source = frame.to_csv(index=False).encode()
            filename = "dataframe.csv"
        else:
            src = cast(Source, data)
            filename = label_of(src, "input.csv") or "input.csv"
        prog = self._progress(progress)
        report, close = progress_reporter(prog, f"uploading {filename}", source_size(src))
        body, headers = multipart(spec, src, filename, report)
        try:
            job = Job.from_json(
                self._json(
                    "POST", "/v1/jobs", content=body, headers=headers, timeout=max(300.0, self._http.timeout.read or 0)
                )
            )
        finally:
            close()
        if not wait:
            return job
        job = self.wait_job(job.id, timeout=timeout, progress=prog)
        df = self.job_output(job.id)
        df.attrs["job"] = job
        return df

    def job(self, job_id: str) -> Job:
        return Job.from_json(self._json("GET", f"/v1/jobs/{_enc(job_id)}"))

    def cancel_job(self, job_id: str) -> Job:
        return Job.from_json(self._json("POST", f"/v1/jobs/{_enc(job_id)}/cancel"))

    def delete_job(self, job_id: str) -> None:
        """Deletes a finished job with the files stored for it (its upload, output and errors); a queued or running
        one raises :class:`~modelyard.errors.ConflictError`: cancel it first."""
        self.request("DELETE", f"/v1/jobs/{_enc(job_id)}")

    def wait_job(self, job_id: str, *, timeout: float = 3600.0, progress: Progress = None) -> Job:
        """Polls a job until it ends (progress bar in percent); raises :class:`JobFailedError` unless it succeeded."""
        report, close = progress_reporter(self._progress(progress), f"job {job_id[:8]}", 100, unit="%")
        until = time.monotonic() + timeout
        try:
            while True:
                job = self.job(job_id)
                report(100 if job.status == "succeeded" else int(job.progress), 100)
                if job.done:
                    break
                if time.monotonic() > until:
                    raise WaitTimeoutError(f"job {job_id} did not finish within {timeout:g} s (it goes on)")
                time.sleep(self.poll_interval)
        finally:
            close()
        if job.status != "succeeded":
            raise JobFailedError(f"job {job.id} {job.status}" + (f": {job.error}" if job.error else ""), job=job)
        return job

    def job_file(self, job_id: str, kind: str = "output") -> bytes:
        """A job's ``input``, ``output`` or ``errors`` file, as bytes."""
        return self.request("GET", f"/v1/jobs/{_enc(job_id)}/files/{_enc(kind)}", timeout=300.0).content

    def job_output(self, job_id: str, kind: str = "output") -> "pd.DataFrame":
        """A job's output (or errors) file as a DataFrame (CSV or JSON Lines, as the input was)."""
        pd = pandas()
        res = self.request("GET", f"/v1/jobs/{_enc(job_id)}/files/{_enc(kind)}", timeout=300.0)
        if "ndjson" in res.headers.get("content-type", ""):
            return pd.read_json(io.BytesIO(res.content), lines=True)
        return pd.read_csv(io.BytesIO(res.content))

    # ---- drift ----

    def drift(
        self,
        name: str,
        *,
        version: Optional[int] = None,
        start: Union[str, datetime, None] = None,
        end: Union[str, datetime, None] = None,
    ) -> "pd.DataFrame":
        """Drift per window and column (default: the Production version, last 7 days), long form: one row per
        (window, column) with ``status`` (ok, warn, drift), ``psi``, ``js``, ``p_value``, and the window's
        ``rows``, ``window_status`` and ``drift_share``. Pivot it for a heat map:
        ``df.pivot(index="column", columns="window_start", values="psi")``."""
        s = self._json(
            "GET", f"/v1/models/{_enc(name)}/drift", params={"version": version, "from": _iso(start), "to": _iso(end)}
        )
        features = set(s.get("features") or [])
        rows = []
        for w in s.get("windows") or []:
            for col, p in (w.get("columns") or {}).items():
                rows.append(
                    {
                        "window_start": w["start"],
                        "window_end": w["end"],
                        "column": col,
                        "kind": "feature" if col in features else "output",
                        "status": p.get("status"),
                        "psi": p.get("psi"),
                        "js": p.get("js"),
                        "p_value": p.get("pValue"),
                        "rows": w.get("rows"),
                        "window_status": w.get("status"),
                        "drift_share": w.get("driftShare"),
                        "silent": w.get("silent"),
                    }
                )
        cols = [
            "window_start",
            "window_end",
            "column",
            "kind",
            "status",
            "psi",
            "js",
            "p_value",
            "rows",
            "window_status",
            "drift_share",
            "silent",
        ]
        df = pandas().DataFrame(rows, columns=cols)
        for c in ("window_start", "window_end"):
            df[c] = pandas().to_datetime(df[c], utc=True)
        df.attrs.update(model=s.get("model", name), version=s.get("version"))
        return df

    def drift_report(
        self, name: str, *, version: Optional[int] = None, min_rows: int = 0, timeout: float = 0.0
    ) -> "pd.DataFrame":
        """The newest drift window's report, one row per column (features, then model outputs): status, PSI,
        Jensen-Shannon, the test (KS or chi-squared) with its p-value, reference and current mean. ``df.attrs``
        has the window's ``status``, ``drift_share``, ``rows``, ``start``, ``end`` and ``version``.

        With ``min_rows``/``timeout``, waits until the window holds that many rows (predictions are sampled
        into the log and folded into windows by the worker every ``DRIFT_FOLD_SECONDS``)."""
        until = time.monotonic() + timeout
        while True:
            try:
                w = self._json("GET", f"/v1/models/{_enc(name)}/drift/latest", params={"version": version})
                if w.get("rows", 0) >= min_rows and w.get("report"):
                    break
            except NotFoundError:
                if time.monotonic() > until:
                    raise
                w = None
            if time.monotonic() > until:
                got = w.get("rows", 0) if w else 0
                raise WaitTimeoutError(
                    f"the newest drift window of {name} has {got} rows, not {min_rows}, after {timeout:g} s"
                )
            time.sleep(self.poll_interval)
        rep = w["report"]
        rows = []
        for kind, cols in (("feature", rep.get("features") or []), ("output", rep.get("outputs") or [])):
            for c in cols:
                rows.append(
                    {
                        "column": c["name"],
                        "kind": kind,
                        "type": c.get("kind"),
                        "status": c.get("status"),
                        "psi": c.get("psi"),
                        "js": c.get("js"),
                        "test": c.get("test"),
                        "statistic": c.get("statistic"),
                        "p_value": c.get("pValue"),
                        "reference_mean": (c.get("reference") or {}).get("mean"),
                        "current_mean": (c.get("current") or {}).get("mean"),
                    }
                )
        df = pandas().DataFrame(
            rows,
            columns=[
                "column",
                "kind",
                "type",
                "status",
                "psi",
                "js",
                "test",
                "statistic",
                "p_value",
                "reference_mean",
                "current_mean",
            ],
        )
        df.attrs.update(
            model=w.get("model", name),
            version=w.get("version"),
            rows=w.get("rows"),
            start=w.get("start"),
            end=w.get("end"),
            status=rep.get("status"),
            drift_share=rep.get("driftShare"),
        )
        return df


def _payload(data: Rows) -> "tuple[List[Any], Any]":
    """Rows as the Modelyard contract's ``payload`` (records or row arrays) and the index to answer with."""
    if is_dataframe(data):
        return frame_to_records(data), data.index
    if is_ndarray(data):
        nd: Any = data
        arr = nd if nd.ndim == 2 else nd.reshape(1, -1)
        return [clean(r) for r in arr.tolist()], None
    if isinstance(data, Mapping):
        raise TypeError("predict takes rows: a DataFrame, a list of {feature: value} records, or a 2-D array")
    rows = list(data)
    return [clean(dict(r)) if isinstance(r, Mapping) else clean(list(r)) for r in rows], None


def _prediction_columns(body: Mapping[str, Any]) -> Dict[str, List[Any]]:
    cols: Dict[str, List[Any]] = {"prediction": list(body.get("predictions") or [])}
    probs = body.get("predictions_prob")
    if probs:
        classes = body.get("classes") or list(range(len(probs[0])))
        for i, c in enumerate(classes):
            cols[f"probability_{c}"] = [row[i] for row in probs]
    return cols
