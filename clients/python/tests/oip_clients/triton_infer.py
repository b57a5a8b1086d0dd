"""Runs in the tritonclient venv (scripts/oip-clients.mjs ensureTritonVenv: Debian's Python, whose gevent,
geventhttpclient and rapidjson tritonclient.http needs), not the test venv: Triton's HTTP client against a running
Modelyard, one fixture model, two ways. Prints one JSON object: per way, the outputs as lists, the request's framing
(the JSON part's length, None when all JSON) and which outputs came back as binary.

    python triton_infer.py URL API_KEY MODEL SAMPLES_JSON

- `default`: the client's defaults: binary input tensors, and (no outputs named) `binary_data_output`.
- `json`: `binary_data=False` for the input and for each named output.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict

import numpy as np
import tritonclient.http as httpclient


def main(url: str, key: str, model: str, samples_path: str) -> None:
    samples = json.loads(open(samples_path).read())
    spec = samples["inputs"][0]
    names = [o["name"] for o in samples["outputs"]]
    data = np.asarray(samples["input_data"][spec["name"]], dtype=np.float32)
    client = httpclient.InferenceServerClient(url.split("://", 1)[1], network_timeout=30)
    out: Dict[str, Any] = {}
    for way in ("default", "json"):
        tensor = httpclient.InferInput(spec["name"], list(data.shape), "FP32")
        outputs = None
        if way == "default":
            tensor.set_data_from_numpy(data)
        else:
            tensor.set_data_from_numpy(data, binary_data=False)
            outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in names]
        # What the client puts on the wire for this call (its own framing function).
        _, json_size = httpclient.InferenceServerClient.generate_request_body([tensor], outputs=outputs)
        result = client.infer(model, [tensor], outputs=outputs, headers={"Authorization": f"Bearer {key}"})
        response = result.get_response()
        out[way] = {
            "request_header_length": json_size,
            "binary_outputs": [o["name"] for o in response["outputs"] if "binary_data_size" in o.get("parameters", {})],
            "outputs": {n: result.as_numpy(n).tolist() for n in names},
        }
    client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:5])
