"""The client against the launched platform: register, predict, score, promote, deploy, drift, errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

import httpx
import numpy as np
import pandas as pd
import pytest

import modelyard
from conftest import fixture_path, reference_frame, sample_frame, samples, shifted, unique

PROBS = ["probability_0", "probability_1", "probability_2"]


@pytest.fixture(scope="module")
def iris(client: modelyard.Client) -> str:
    """iris_logreg with its reference as a DataFrame, in Production."""
    name = unique("py-iris")
    client.register(
        name, onnx=fixture_path("iris_logreg"), reference=reference_frame("iris_logreg"), stage="Production"
    )
    return name


def test_the_client_takes_url_and_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, api_url: str, admin_key: str, iris: str
) -> None:
    monkeypatch.setenv("MODELYARD_URL", api_url)
    monkeypatch.setenv("MODELYARD_API_KEY", admin_key)
    with modelyard.Client() as c:
        assert c.url == api_url
        assert iris in set(c.models(search=iris)["name"])
    monkeypatch.delenv("MODELYARD_API_KEY")
    with pytest.raises(modelyard.ConfigurationError, match="MODELYARD_API_KEY"):
        modelyard.Client(api_url)


def test_register_streams_the_upload_with_progress_and_waits_until_ready(client: modelyard.Client) -> None:
    name = unique("py-register")
    path = fixture_path("iris_rf")
    seen: List[Tuple[int, int]] = []
    ref = reference_frame("iris_rf")
    v = client.register(
        name,
        onnx=path,
        reference=ref,
        metrics={"accuracy": 0.97},
        tags={"team": "py"},
        lineage={"gitCommit": "abc123"},
        progress=lambda done, total: seen.append((done, total)),
    )
    size = path.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert (v.model, v.version, v.status, v.stage) == (name, 1, "ready", "None")
    assert v.metrics == {"accuracy": 0.97} and v.tags == {"team": "py"} and v.has_reference
    assert v.signature and v.signature["inputs"][0]["columns"] == list(ref.columns)
    # Bytes work as well as a path; without wait the version comes back pending or already validated.
    v2 = client.register(name, onnx=path.read_bytes(), wait=False)
    assert v2.version == 2 and v2.status in ("pending", "ready")
    assert client.wait_version(name, 2).status == "ready"
    versions = client.versions(name)
    assert list(versions["version"]) == [2, 1] and set(versions["status"]) == {"ready"}


def test_a_model_that_fails_validation_raises_with_the_reason(client: modelyard.Client) -> None:
    with pytest.raises(modelyard.VersionFailedError) as e:
        client.register(unique("py-broken"), onnx=b"this is not an onnx model")
    assert e.value.code == "VERSION_FAILED"
    assert e.value.version.status == "failed" and e.value.reason


def test_predict_answers_a_dataframe_records_and_an_array_alike(client: modelyard.Client, iris: str) -> None:
    s = samples("iris_logreg")
    frame = sample_frame("iris_logreg")
    frame.index = [f"row{i}" for i in range(len(frame))]
    out = client.predict(iris, frame)
    assert list(out.columns) == ["prediction", *PROBS]
    assert list(out.index) == list(frame.index)
    assert out.attrs["version"] == 1 and out.attrs["role"] == "production"
    assert list(out["prediction"]) == s["expected"]["label"]
    np.testing.assert_allclose(
        out[PROBS].to_numpy(), np.array(s["expected"]["probabilities"]), atol=s["tolerance"]["probabilities"]
    )
    by_records = client.predict(iris, frame.to_dict(orient="records"))
    by_array = client.predict(iris, frame.to_numpy())
    for other in (by_records, by_array):
        np.testing.assert_allclose(other[PROBS].to_numpy(), out[PROBS].to_numpy(), atol=1e-7)
        assert list(other["prediction"]) == list(out["prediction"])


def test_predict_in_batches_answers_every_row_of_a_large_frame_in_order(client: modelyard.Client, iris: str) -> None:
    ref = reference_frame("iris_logreg")
    big = pd.concat([ref] * 23, ignore_index=True)  # 2,576 rows: three requests of at most 1,000
    big.index = big.index * 10
    out = client.predict(iris, big, batch_size=1000)
    assert len(out) == len(big) and list(out.index) == list(big.index)
    assert out.attrs["version"] == 1
    whole = client.predict(iris, ref)
    np.testing.assert_allclose(out[PROBS].to_numpy()[: len(ref)], whole[PROBS].to_numpy(), atol=1e-7)
    np.testing.assert_allclose(out[PROBS].to_numpy()[-len(ref) :], whole[PROBS].to_numpy(), atol=1e-7)
    assert client.predict_records(iris, big.head(5), batch_size=2)["predictions"] == list(whole["prediction"][:5])


def test_predict_picks_a_version_by_number_alias_or_stage(client: modelyard.Client) -> None:
    name = unique("py-routes")
    client.register(name, onnx=fixture_path("iris_logreg"), stage="Production")
    client.register(name, onnx=fixture_path("iris_rf"), stage="Staging")
    client.set_alias(name, "challenger", 2)
    rows = sample_frame("iris_logreg").head(3)
    assert client.predict(name, rows).attrs["version"] == 1
    assert client.predict(name, rows, version=2).attrs["version"] == 2
    assert client.predict(name, rows, alias="challenger").attrs["version"] == 2
    assert client.predict(name, rows, stage="Staging").attrs["version"] == 2
    assert client.predict(name, rows, stage="Production").attrs["version"] == 1
    with pytest.raises(ValueError):
        client.predict(name, rows, version=1, alias="challenger")


def test_score_runs_a_batch_job_on_a_csv_or_a_dataframe_and_returns_the_scored_rows(
    client: modelyard.Client, iris: str, tmp_path: Path
) -> None:
    ref = reference_frame("iris_logreg")
    ref.insert(0, "id", [f"c{i}" for i in range(len(ref))])
    csv = tmp_path / "customers.csv"
    ref.to_csv(csv, index=False)
    seen: List[Tuple[int, int]] = []
    scored = client.score(iris, csv, progress=lambda done, total: seen.append((done, total)))
    assert list(scored.columns) == [*ref.columns, "prediction", *PROBS]
    assert len(scored) == len(ref) and list(scored["id"]) == list(ref["id"])
    job = scored.attrs["job"]
    assert (job.status, job.rows_out, job.rows_failed, job.version) == ("succeeded", len(ref), 0, 1)
    assert seen[-1] == (100, 100)
    live = client.predict(iris, ref.drop(columns=["id"]))
    assert list(scored["prediction"]) == list(live["prediction"])
    np.testing.assert_allclose(scored[PROBS].to_numpy(), live[PROBS].to_numpy(), atol=1e-6)

    ids_only = client.score(iris, ref.head(10), id_column="id")
    assert list(ids_only.columns) == ["id", "prediction", *PROBS] and len(ids_only) == 10

    queued = client.score(iris, ref.head(5), wait=False)
    assert isinstance(queued, modelyard.Job) and queued.status in ("queued", "running", "succeeded")
    assert client.wait_job(queued.id).rows_out == 5
    client.delete_job(queued.id)
    with pytest.raises(modelyard.NotFoundError):
        client.job(queued.id)


def test_promote_and_deploy_pilot_silent_and_rollback(client: modelyard.Client) -> None:
    name = unique("py-deploy")
    client.register(name, onnx=fixture_path("iris_logreg"))
    client.register(name, onnx=fixture_path("iris_rf"))
    client.register(name, onnx=fixture_path("iris_logreg"))
    t = client.promote(name, 1, comment="first")
    assert (t.outcome, t.version.stage) == ("transitioned", "Production")
    rows = sample_frame("iris_logreg").head(2)

    pilot = client.deploy.pilot(name, 2, percentage=100, comment="everyone")
    frame = pilot.to_frame()
    assert list(frame["role"]) == ["production", "pilot"] and list(frame["version"])[1] == 2
    out = client.predict(name, rows)
    assert (out.attrs["version"], out.attrs["role"]) == (2, "pilot")

    silent = client.deploy.silent(name, 3, sample_rate=0.5)
    assert silent.revision == pilot.revision + 1
    assert silent.to_frame().query("role == 'silent'")[["version", "sample_rate"]].values.tolist() == [[3, 0.5]]

    back = client.deploy.rollback(name)
    assert back.revision == silent.revision + 1 and back.config["silent"] == []
    assert list(client.deploy.revisions(name)["revision"])[:1] == [back.revision]
    assert client.deploy.show(name).revision == back.revision  # type: ignore[union-attr]


def test_drift_frames_flag_the_shifted_feature(client: modelyard.Client) -> None:
    name = unique("py-drift")
    ref = reference_frame("iris_logreg")
    client.register(name, onnx=fixture_path("iris_logreg"), reference=ref, stage="Production")
    for seed in range(3):  # 300 rows, petal_length moved by +3
        client.predict(name, shifted(ref, 100, {"petal_length": 3.0}, seed))
    report = client.drift_report(name, min_rows=300, timeout=60)
    assert report.attrs["rows"] == 300 and report.attrs["version"] == 1
    features = report[report["kind"] == "feature"].set_index("column")["status"].to_dict()
    assert features == {"sepal_length": "ok", "sepal_width": "ok", "petal_length": "drift", "petal_width": "ok"}
    assert {"prediction", "proba_0"} <= set(report[report["kind"] == "output"]["column"])
    series = client.drift(name)
    last = series[series["window_start"] == series["window_start"].max()].set_index("column")
    assert last.loc["petal_length", "status"] == "drift" and last.loc["petal_length", "psi"] > 0.25
    assert last.loc["petal_length", "kind"] == "feature" and int(last.loc["petal_length", "rows"]) == 300


def test_errors_carry_the_api_codes_in_one_class_per_status(
    client: modelyard.Client, api_url: str, admin_key: str, iris: str
) -> None:
    with pytest.raises(modelyard.NotFoundError) as nf:
        client.predict(unique("no-such-model"), [[1, 2, 3, 4]])
    assert (nf.value.status, nf.value.code) == (404, "NOT_FOUND") and nf.value.error_id
    assert isinstance(nf.value, modelyard.ClientError) and isinstance(nf.value, modelyard.ApiError)

    with pytest.raises(modelyard.BadRequestError) as bad:
        client.predict(iris, [{"sepal_length": 1.0}])
    assert bad.value.status == 400 and bad.value.code == "BAD_REQUEST" and "sepal_width" in bad.value.message
    with pytest.raises(modelyard.BadRequestError) as invalid:
        client.set_alias(iris, "v2", 1)  # an alias must not look like a version
    assert (invalid.value.status, invalid.value.code) == (400, "VALIDATION_FAILED")

    with modelyard.Client(api_url, "my_aaaaaaaa_" + "b" * 40) as stranger:
        with pytest.raises(modelyard.AuthenticationError) as unauth:
            stranger.models()
    assert (unauth.value.status, unauth.value.code) == (401, "UNAUTHENTICATED")

    headers = {"authorization": f"Bearer {admin_key}"}
    sa = httpx.post(
        f"{api_url}/v1/service-accounts", headers=headers, json={"name": unique("py-viewer"), "role": "viewer"}
    )
    key = httpx.post(
        f"{api_url}/v1/api-keys",
        headers=headers,
        json={"name": "py", "scopes": ["models:read"], "serviceAccountId": sa.json()["id"]},
    ).json()["secret"]
    with modelyard.Client(api_url, key) as viewer:
        with pytest.raises(modelyard.PermissionDeniedError) as denied:
            viewer.register(unique("py-denied"), onnx=fixture_path("iris_logreg"), progress=False)
    assert (denied.value.status, denied.value.code) == (403, "FORBIDDEN")

    with modelyard.Client("http://127.0.0.1:9", admin_key) as nowhere:
        with pytest.raises(modelyard.NetworkError) as net:
            nowhere.models()
    assert net.value.code == "NETWORK"


def test_an_upload_over_the_platform_limit_fails_with_a_typed_error_and_keeps_nothing(client: modelyard.Client) -> None:
    limit = int(os.environ.get("E2E_MAX_UPLOAD_BYTES") or 0)
    if not limit:
        pytest.fail("E2E_MAX_UPLOAD_BYTES is not set: run these tests through `npm test -- python`", pytrace=False)
    name = unique("py-huge")
    # The API answers 413 and drops the connection unread; httpx writes the whole body before reading, so it
    # may see the 413 or only the reset, depending on timing. Either way the caller gets a typed error.
    with pytest.raises((modelyard.PayloadTooLargeError, modelyard.UploadInterruptedError)) as e:
        client.register(name, onnx=bytes(limit * 2))
    if isinstance(e.value, modelyard.PayloadTooLargeError):
        assert (e.value.status, e.value.code) == (413, "PAYLOAD_TOO_LARGE")
    else:
        assert e.value.code == "UPLOAD_INTERRUPTED" and "MAX_UPLOAD_BYTES" in e.value.message
        assert f"/v1/models/{name}/versions" in e.value.message
    with pytest.raises(modelyard.NotFoundError):
        client.model(name)  # nothing was kept
