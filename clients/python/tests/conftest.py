"""The tests run against a launched platform: `npm test -- python` starts one and sets E2E_API_URL and
E2E_ADMIN_API_KEY (see scripts/test.mjs). The parity tests need no platform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pandas as pd
import pytest

import modelyard

REPO = Path(__file__).resolve().parents[3]
CLIENT = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "test" / "fixtures" / "models"
# What a subprocess of the tests gets: no trace of the test venv's activation.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def need(var: str) -> str:
    v = os.environ.get(var)
    if not v:
        pytest.fail(f"{var} is not set: run these tests through `npm test -- python`", pytrace=False)
    return v


@pytest.fixture(scope="session")
def api_url() -> str:
    return need("E2E_API_URL")


@pytest.fixture(scope="session")
def admin_key() -> str:
    return need("E2E_ADMIN_API_KEY")


@pytest.fixture(scope="session")
def client(api_url: str, admin_key: str) -> modelyard.Client:
    with modelyard.Client(api_url, admin_key, progress=False, poll_interval=0.2) as c:
        yield c


def run(*args: str, cwd: Path, env: Dict[str, str] = CLEAN_ENV, timeout: float = 240) -> str:
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built once: the sdist first, then the wheel from the unpacked sdist (python -m
    build's default), so the sdist is proven complete. No isolation: the backend (hatchling) is in the test
    venv, and the package index is only needed for the test venv itself."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(CLIENT), cwd=out)
    return out


def wheel_of(dist: Path) -> Path:
    return dist / f"modelyard-{modelyard.__version__}-py3-none-any.whl"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def fixture_path(name: str) -> Path:
    return FIXTURES / name / "model.onnx"


def samples(name: str) -> Dict[str, Any]:
    return json.loads((FIXTURES / name / "samples.json").read_text())


def sample_frame(name: str) -> pd.DataFrame:
    s = samples(name)
    inp = s["inputs"][0]
    return pd.DataFrame(s["input_data"][inp["name"]], columns=inp["columns"])


def reference_frame(name: str) -> pd.DataFrame:
    r = json.loads((FIXTURES / name / "reference.json").read_text())
    return pd.DataFrame(r["rows"], columns=r["feature_names"])


def shifted(ref: pd.DataFrame, n: int, shift: Dict[str, float], seed: int) -> pd.DataFrame:
    """`n` rows drawn (seeded) from the reference, with `shift` added to the named columns."""
    rows = ref.sample(n=n, replace=True, random_state=seed).reset_index(drop=True)
    for col, by in shift.items():
        rows[col] = rows[col] + by
    return rows


def linear_classifier_onnx(model: Any, feature_names: List[str]) -> bytes:
    """A fitted multinomial scikit-learn LogisticRegression as an ai.onnx.ml LinearClassifier (what skl2onnx
    writes for it; skl2onnx is not in the package index here)."""
    from onnx import TensorProto, helper

    classes = [int(c) for c in model.classes_]
    node = helper.make_node(
        "LinearClassifier",
        ["float_input"],
        ["label", "probabilities"],
        domain="ai.onnx.ml",
        classlabels_ints=classes,
        coefficients=np.asarray(model.coef_, dtype=np.float32).ravel().tolist(),
        intercepts=np.asarray(model.intercept_, dtype=np.float32).tolist(),
        multi_class=0,
        post_transform="SOFTMAX",
    )
    graph = helper.make_graph(
        [node],
        "logreg",
        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [None, len(feature_names)])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(classes)]),
        ],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3)])
    m.ir_version = 8
    helper.set_model_props(m, {"feature_names": json.dumps(feature_names), "classes": json.dumps(classes)})
    return m.SerializeToString()
