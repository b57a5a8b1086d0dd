"""The package as a user gets it: a wheel and an sdist built from clients/python, the wheel installed into a
fresh venv (base dependencies only, from the package index) and used from an empty folder."""

from __future__ import annotations

import json
import sys
import tarfile
import zipfile
from pathlib import Path

import modelyard
from conftest import CLEAN_ENV, fixture_path, run, sample_frame, samples, unique, wheel_of

SCRIPT = r"""
import json, os, sys
import modelyard
c = modelyard.Client()  # MODELYARD_URL / MODELYARD_API_KEY
name = sys.argv[1]
v = c.register(name, onnx=sys.argv[2], progress=False, stage="Production")
answer = c.predict_records(name, json.loads(sys.argv[3]))
try:
    c.predict(name, json.loads(sys.argv[3]))
    needs_pandas = None
except modelyard.MissingDependencyError as e:
    needs_pandas = str(e)
print(json.dumps({"file": modelyard.__file__, "version": modelyard.__version__, "registered": v.version,
                  "status": v.status, "predictions": answer["predictions"], "needs_pandas": needs_pandas}))
"""


def test_the_wheel_and_sdist_build_and_the_wheel_works_from_an_empty_folder(
    dist: Path, tmp_path: Path, api_url: str, admin_key: str
) -> None:
    wheel = wheel_of(dist)
    sdist = dist / f"modelyard-{modelyard.__version__}.tar.gz"
    assert wheel.exists() and sdist.exists(), sorted(p.name for p in dist.iterdir())
    names = zipfile.ZipFile(wheel).namelist()
    assert {"modelyard/__init__.py", "modelyard/client.py", "modelyard/py.typed"} <= set(names)
    meta = zipfile.ZipFile(wheel).read(f"modelyard-{modelyard.__version__}.dist-info/METADATA").decode()
    assert "Requires-Dist: httpx" in meta and "Provides-Extra: pandas" in meta and "Provides-Extra: parity" in meta
    members = {m.split("/", 1)[1] for m in tarfile.open(sdist).getnames() if "/" in m}
    assert {"pyproject.toml", "README.md", "src/modelyard/py.typed", "tests/test_client.py"} <= members

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    py = venv / "bin" / "python"
    run(str(py), "-m", "pip", "install", "--quiet", str(wheel), cwd=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    name = unique("py-wheel")
    rows = sample_frame("iris_logreg").head(3).to_dict(orient="records")
    out = run(
        str(py),
        "-c",
        SCRIPT,
        name,
        str(fixture_path("iris_logreg")),
        json.dumps(rows),
        cwd=empty,
        env={**CLEAN_ENV, "MODELYARD_URL": api_url, "MODELYARD_API_KEY": admin_key},
    )
    got = json.loads(out.strip().splitlines()[-1])
    assert Path(got["file"]).is_relative_to(venv), got["file"]
    assert (got["version"], got["registered"], got["status"]) == (modelyard.__version__, 1, "ready")
    assert got["predictions"] == samples("iris_logreg")["expected"]["label"][:3]
    # The base install has no pandas: DataFrame methods say which extra to install.
    assert "modelyard[pandas]" in got["needs_pandas"]
