"""check_parity: the ONNX export against the original model, before anything is uploaded."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import modelyard
from conftest import fixture_path, linear_classifier_onnx, unique

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    x, y = load_iris(return_X_y=True, as_frame=True)
    x.columns = FEATURES
    return x.assign(target=y)


@pytest.fixture(scope="module")
def logreg(iris: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression(max_iter=1000, random_state=0).fit(iris[FEATURES], iris["target"])


def test_an_exact_export_passes_with_every_label_agreeing(iris: pd.DataFrame, logreg: LogisticRegression) -> None:
    onnx = linear_classifier_onnx(logreg, FEATURES)
    # Columns in another order than the model's: the feature_names metadata puts them back.
    rows = iris[list(reversed(FEATURES))]
    report = modelyard.check_parity(onnx, lambda df: logreg.predict_proba(df[FEATURES]), rows, atol=1e-5)
    assert report.ok, report
    assert report.rows == 150 and report.output == "probabilities" and report.label_agreement == 1.0
    assert report.max_abs_diff < 1e-5


def test_a_different_model_fails_and_names_the_worst_row(iris: pd.DataFrame) -> None:
    forest = RandomForestClassifier(n_estimators=5, random_state=1).fit(iris[FEATURES], iris["target"])
    report = modelyard.check_parity(fixture_path("iris_logreg"), forest.predict_proba, iris[FEATURES])
    assert not report.ok
    assert report.max_abs_diff > 0.1
    with pytest.raises(modelyard.ParityError) as e:
        report.raise_for_mismatch()
    assert e.value.code == "PARITY_MISMATCH"
    assert f"row {report.worst_row}" in str(e.value)


def test_register_refuses_to_upload_an_export_that_disagrees(
    client: modelyard.Client, iris: pd.DataFrame, logreg: LogisticRegression
) -> None:
    name = unique("parity-refused")
    bad = LogisticRegression(C=0.01, max_iter=1000).fit(iris[FEATURES], iris["target"])
    with pytest.raises(modelyard.ParityError):
        client.register(
            name, onnx=linear_classifier_onnx(bad, FEATURES), reference=iris[FEATURES], parity_with=logreg.predict_proba
        )
    # Nothing reached the platform.
    with pytest.raises(modelyard.NotFoundError):
        client.model(name)
    v = client.register(
        name, onnx=linear_classifier_onnx(logreg, FEATURES), reference=iris[FEATURES], parity_with=logreg.predict_proba
    )
    assert (v.version, v.status) == (1, "ready")
