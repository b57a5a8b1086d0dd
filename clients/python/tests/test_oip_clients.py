"""The Open Inference Protocol's binary tensor extension with the real clients, against the launched platform,
for every fixture model: KServe's `InferenceRESTClient` and Triton's `tritonclient.http`, both built from source
(clients/python/vendor/PROVENANCE.md) and each run in a venv of its own (scripts/oip-clients.mjs)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path
from typing import Any, Dict

import httpx
import numpy as np
import pytest

import modelyard

from conftest import FIXTURES, fixture_path, samples, unique

MODELS = ["iris_logreg", "iris_rf", "digits_mlp"]
SCRIPTS = Path(__file__).resolve().parent / "oip_clients"


@pytest.fixture(scope="module")
def deployed(client: modelyard.Client) -> Dict[str, str]:
    """Each fixture model registered and in Production, under a fresh name."""
    names = {}
    for m in MODELS:
        names[m] = unique(f"oip-{m.replace('_', '-')}")
        client.register(names[m], onnx=fixture_path(m), stage="Production")
    return names


def run_client(python_var: str, script: str, api_url: str, key: str, model: str, fixture: str) -> Dict[str, Any]:
    py = os.environ.get(python_var)
    if not py:
        why = "its venv could not be made (the log above says why), or the tests were not run by `npm test -- python`"
        pytest.fail(f"{python_var} is not set: {why}", pytrace=False)
    r = subprocess.run(
        [py, str(SCRIPTS / script), api_url, key, model, str(FIXTURES / fixture / "samples.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, f"{script} failed:\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout)


def check_expected(fixture: str, outputs: Dict[str, Any]) -> None:
    s = samples(fixture)
    probs = np.asarray(outputs["probabilities"]["data"])
    np.testing.assert_allclose(probs, np.asarray(s["expected"]["probabilities"]), atol=s["tolerance"]["probabilities"])
    want_labels = np.asarray(s["expected"]["label"])
    if "label" in outputs:
        assert outputs["label"]["data"] == want_labels.tolist()
    else:
        assert probs.argmax(axis=1).tolist() == want_labels.tolist()


@pytest.mark.parametrize("fixture", MODELS)
def test_kserve_client_with_its_defaults_sends_binary_tensors_and_gets_the_same_answers_as_with_json(
    api_url: str, admin_key: str, deployed: Dict[str, str], fixture: str
) -> None:
    r = run_client("MODELYARD_KSERVE_PYTHON", "kserve_infer.py", api_url, admin_key, deployed[fixture], fixture)
    default, plain, binary_out = r["default"], r["json"], r["binary_out"]
    # The defaults went through the binary extension; binary_data=False did not.
    assert default["wire"]["request_content_type"] == "application/octet-stream"
    n = samples(fixture)["n"]
    width = len(samples(fixture)["inputs"][0]["columns"])
    header = int(default["wire"]["request_header_length"])
    assert default["wire"]["request_bytes"] == header + n * width * 4
    assert plain["wire"]["request_content_type"] == "application/json"
    assert plain["wire"]["request_header_length"] is None
    # Answers: JSON unless binary outputs are asked for, then raw tensors after a JSON header.
    assert default["wire"]["response_header_length"] is None
    assert binary_out["wire"]["response_content_type"] == "application/octet-stream"
    assert int(binary_out["wire"]["response_header_length"]) > 0
    # The same answers, to the bit, whichever way the tensors travelled; and the fixture's expected ones.
    assert default["outputs"] == plain["outputs"] == binary_out["outputs"]
    assert default["model_name"] == deployed[fixture]
    check_expected(fixture, default["outputs"])


@pytest.mark.parametrize("fixture", MODELS)
def test_tritonclient_with_its_defaults_sends_and_receives_binary_tensors_with_the_json_answers(
    api_url: str, admin_key: str, deployed: Dict[str, str], fixture: str
) -> None:
    r = run_client("MODELYARD_TRITON_PYTHON", "triton_infer.py", api_url, admin_key, deployed[fixture], fixture)
    default, plain = r["default"], r["json"]
    names = [o["name"] for o in samples(fixture)["outputs"]]
    # Its defaults: binary inputs, no content type, and every output asked for as binary.
    assert default["request_header_length"] is not None
    assert default["binary_outputs"] == names
    assert plain["request_header_length"] is None and plain["binary_outputs"] == []
    assert default["outputs"] == plain["outputs"]
    check_expected(fixture, {n: {"data": v} for n, v in default["outputs"].items()})


def test_malformed_binary_requests_get_4xx_in_the_protocol_error_shape(
    api_url: str, admin_key: str, deployed: Dict[str, str]
) -> None:
    url = f"{api_url}/v2/models/{deployed['iris_logreg']}/infer"
    auth = {"Authorization": f"Bearer {admin_key}"}
    row = struct.pack("<4f", 5.1, 3.5, 1.4, 0.2)
    tensor = {"name": "float_input", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}
    good = json.dumps({"inputs": [tensor]}).encode()
    octet = {**auth, "content-type": "application/octet-stream"}
    cases = [
        ({**octet, "Inference-Header-Content-Length": "abc"}, good + row, 400, "decimal byte count"),
        ({**octet, "Inference-Header-Content-Length": str(len(good) + 99)}, good + row, 400, "must be within it"),
        ({**octet, "Inference-Header-Content-Length": str(len(good))}, good + row[:12], 400, "only 12 bytes"),
        ({**octet, "Inference-Header-Content-Length": str(len(good))}, good + row + row, 400, "add up to 16"),
        (octet, good + row, 400, "not valid JSON"),
        ({**auth, "content-type": "application/xml"}, good + row, 415, ""),
    ]
    for headers, body, status, words in cases:
        r = httpx.post(url, content=body, headers=headers)
        assert r.status_code == status, (headers, r.text)
        assert set(r.json()) == {"error"} and words in r.json()["error"], r.text
    ok = httpx.post(url, content=good + row, headers={**octet, "Inference-Header-Content-Length": str(len(good))})
    assert ok.status_code == 200, ok.text
    # Other routes still refuse a raw body.
    other = httpx.post(f"{api_url}/v1/models/{deployed['iris_logreg']}/predict", content=row, headers=octet)
    assert other.status_code == 415, other.text
