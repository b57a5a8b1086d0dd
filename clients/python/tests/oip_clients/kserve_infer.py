"""Runs in the kserve venv (scripts/python.mjs ensureKserveVenv), not the test venv: KServe's InferenceRESTClient
against a running Modelyard, one fixture model, three ways. Prints one JSON object: for each way, the outputs as
lists and what went over the wire (request content type, whether the body had a binary part, the answer's).

    python kserve_infer.py URL API_KEY MODEL SAMPLES_JSON

- `default`: the client's defaults: `set_data_from_numpy` (binary_data=True) -> binary tensors after the JSON.
- `json`: `set_data_from_numpy(..., binary_data=False)` -> all JSON.
- `binary_out`: binary inputs and `binary_data_output: true` -> the answer's tensors are binary too.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Dict, List

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


class Recorder(httpx.AsyncHTTPTransport):
    """The client's own transport, noting each request's and answer's framing headers."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: List[Dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.seen.append(
            {
                "request_content_type": request.headers.get("content-type"),
                "request_header_length": request.headers.get("inference-header-content-length"),
                "request_bytes": len(request.content),
                "status": response.status_code,
                "response_content_type": response.headers.get("content-type"),
                "response_header_length": response.headers.get("inference-header-content-length"),
            }
        )
        return response


async def main(url: str, key: str, model: str, samples_path: str) -> None:
    samples = json.loads(open(samples_path).read())
    spec = samples["inputs"][0]
    data = np.asarray(samples["input_data"][spec["name"]], dtype=np.float32)
    recorder = Recorder()
    client = InferenceRESTClient(RESTConfig(protocol="v2", transport=recorder, timeout=30))
    out: Dict[str, Any] = {}
    for way, binary_in, params in (
        ("default", None, None),
        ("json", False, None),
        ("binary_out", True, {"binary_data_output": True}),
    ):
        tensor = InferInput(spec["name"], list(data.shape), "FP32")
        if binary_in is None:
            tensor.set_data_from_numpy(data)
        else:
            tensor.set_data_from_numpy(data, binary_data=binary_in)
        request = InferRequest(model_name=model, infer_inputs=[tensor], parameters=params)
        # A fresh dict each time: the client writes its framing headers into the one it is given.
        response = await client.infer(url, request, model_name=model, headers={"Authorization": f"Bearer {key}"})
        out[way] = {
            "wire": recorder.seen[-1],
            "model_name": response.model_name,
            "outputs": {
                o.name: {"datatype": o.datatype, "shape": o.shape, "data": o.as_numpy().tolist()}
                for o in response.outputs
            },
        }
    await client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
