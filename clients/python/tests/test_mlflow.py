"""The real MLflow client (mlflow-skinny, vendored in clients/python/vendor) against Modelyard's MLflow-compatible
API: an MLflow user sets MLFLOW_TRACKING_URI to the api and MLFLOW_TRACKING_TOKEN to an API key, and their usual
code registers ONNX models into Modelyard's registry, which serves them at once in all four request formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import numpy as np
import pytest

from conftest import FIXTURES, samples, unique

mlflow = pytest.importorskip("mlflow")
import mlflow.onnx  # noqa: E402
import onnx  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


@pytest.fixture(scope="module")
def tracking(api_url: str, admin_key: str) -> Iterator[MlflowClient]:
    """MLflow pointed at Modelyard the way its users do it: environment variables, nothing Modelyard-specific."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", api_url)
    mp.setenv("MLFLOW_TRACKING_TOKEN", admin_key)
    # No retries with backoff on a refusal: the tests want MLflow's error, now.
    mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(api_url)
    yield MlflowClient()
    mp.undo()


def log_onnx(fixture: str, tmp: Path) -> str:
    """mlflow.onnx.save_model, then the folder uploaded as a run's `model` artifacts: the run's id."""
    folder = tmp / fixture
    mlflow.onnx.save_model(onnx.load(str(FIXTURES / fixture / "model.onnx")), str(folder))
    with mlflow.start_run() as run:
        mlflow.log_param("fixture", fixture)
        mlflow.log_metric("test_accuracy", float(samples(fixture)["metrics"]["test_accuracy"]))
        mlflow.log_artifacts(str(folder), artifact_path="model")
    return run.info.run_id


def test_mlflow_registers_two_versions_sets_an_alias_searches_and_reads_them_back(
    tracking: MlflowClient, tmp_path: Path
) -> None:
    name = unique("mlflow-iris")
    run1 = log_onnx("iris_logreg", tmp_path)
    run2 = log_onnx("iris_rf", tmp_path)
    # register_model creates the model, then the version, and polls it until Modelyard's worker validated it.
    v1 = mlflow.register_model(f"runs:/{run1}/model", name, tags={"fixture": "iris_logreg"})
    v2 = mlflow.register_model(f"runs:/{run2}/model", name)
    assert (v1.version, v2.version, v1.run_id) == ("1", "2", run1)
    assert [tracking.get_model_version(name, v).status for v in ("1", "2")] == ["READY", "READY"]

    tracking.set_registered_model_alias(name, "champion", "1")
    tracking.set_model_version_tag(name, "2", "reviewed", "no")
    tracking.update_registered_model(name, description="iris, from MLflow")

    model = tracking.get_registered_model(name)
    assert model.description == "iris, from MLflow"
    assert model.aliases == {"champion": "1"}
    by_alias = tracking.get_model_version_by_alias(name, "champion")
    assert (by_alias.version, by_alias.tags) == ("1", {"fixture": "iris_logreg"})
    assert tracking.get_model_version(name, "2").tags == {"reviewed": "no"}

    found = tracking.search_registered_models(filter_string=f"name = '{name}'")
    assert [m.name for m in found] == [name]
    versions = tracking.search_model_versions(f"name = '{name}'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    assert [v.version for v in tracking.search_model_versions(f"run_id = '{run2}'")] == ["2"]

    # The run is MLflow's as logged; the download URI is where its files are.
    assert tracking.get_run(run1).data.params == {"fixture": "iris_logreg"}
    uri = tracking.get_model_version_download_uri(name, "1")
    assert uri == f"mlflow-artifacts:/0/{run1}/artifacts/model"
    files = {f.path for f in tracking.list_artifacts(run1, "model")}
    assert {"model/MLmodel", "model/model.onnx"} <= files


def test_modelyard_serves_the_aliased_version_in_all_four_formats(
    tracking: MlflowClient, tmp_path: Path, api_url: str, admin_key: str
) -> None:
    name = unique("mlflow-serve")
    for fixture in ("iris_logreg", "iris_rf"):
        mlflow.register_model(f"runs:/{log_onnx(fixture, tmp_path)}/model", name)
    tracking.set_registered_model_alias(name, "champion", "1")
    champion = tracking.get_model_version_by_alias(name, "champion").version
    s = samples("iris_logreg")  # version 1 is iris_logreg, version 2 iris_rf: the answers tell them apart
    rows: List[List[float]] = s["input_data"]["float_input"][:5]
    records: List[Dict[str, float]] = s["records"][:5]
    labels = s["expected"]["label"][:5]
    probs = np.array(s["expected"]["probabilities"][:5])

    with httpx.Client(base_url=api_url, headers={"authorization": f"Bearer {admin_key}"}, timeout=30) as http:

        def post(path: str, body: Dict[str, Any]) -> Dict[str, Any]:
            r = http.post(path, json=body)
            assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
            assert r.headers["x-model-version"] == champion, path
            return r.json()

        # Modelyard's own format and TF Serving's labels address the alias by name.
        out = post(f"/v1/models/{name}/aliases/champion/predict", {"payload": records})
        assert out["predictions"] == labels
        tfs = post(f"/v1/models/{name}/labels/champion:predict", {"instances": rows})
        assert [p["label"] for p in tfs["predictions"]] == labels
        np.testing.assert_allclose([p["probabilities"] for p in tfs["predictions"]], probs, atol=1e-4)

        # OIP v2's model version is a string: the alias's name stands for the version it points to.
        v2 = post(
            f"/v2/models/{name}/versions/champion/infer",
            {"inputs": [{"name": "float_input", "shape": [5, 4], "datatype": "FP32", "data": sum(rows, [])}]},
        )
        outputs = {o["name"]: o for o in v2["outputs"]}
        assert outputs["label"]["data"] == labels

        # MLflow scoring on the alias (MLflow's own `models:/name@champion`).
        inv = post(f"/v1/models/{name}/aliases/champion/invocations", {"dataframe_records": records})
        assert inv["predictions"] == labels

        # /invocations itself scores the Production version: promoted with MLflow's (deprecated) stages.
        tracking.transition_model_version_stage(name, champion, "Production")
        inv = post(f"/v1/models/{name}/invocations", {"dataframe_records": records})
        assert inv["predictions"] == labels


def test_mlflow_errors_carry_mlflow_error_codes(tracking: MlflowClient, tmp_path: Path) -> None:
    with pytest.raises(MlflowException) as missing:
        tracking.get_registered_model(unique("no-such-model"))
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    name = unique("mlflow-errors")
    tracking.create_registered_model(name)
    with pytest.raises(MlflowException) as again:
        tracking.create_registered_model(name)
    assert again.value.error_code == "RESOURCE_ALREADY_EXISTS"

    # A model with no onnx flavor cannot be served here: refused at registration, naming what it has.
    run = tracking.create_run("0")
    (tmp_path / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: model.pkl\n")
    tracking.log_artifact(run.info.run_id, str(tmp_path / "MLmodel"), "sk")
    with pytest.raises(MlflowException) as not_onnx:
        tracking.create_model_version(name, f"runs:/{run.info.run_id}/sk", run.info.run_id)
    assert not_onnx.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "no onnx flavor" in str(not_onnx.value)
