"""docs/quickstart.ipynb runs cell by cell against the launched platform, with modelyard installed from the
wheel into a fresh venv and the notebook started in an empty folder, as a user would run it."""

from __future__ import annotations

import json
import sys
import sysconfig
from pathlib import Path

from conftest import CLEAN_ENV, REPO, run, unique, wheel_of

RUNNER = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
import modelyard

nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
shown = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("outputs"))
print(json.dumps({"modelyard": modelyard.__file__, "errors": len(errors), "shown": shown}))
"""


def test_every_cell_of_the_quickstart_runs_with_the_wheel_from_an_empty_folder(
    dist: Path, tmp_path: Path, api_url: str, admin_key: str
) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    py = venv / "bin" / "python"
    run(str(py), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel_of(dist)), cwd=tmp_path)
    # The notebook's other packages (pandas, scikit-learn, onnx, onnxruntime, the kernel) come from the test
    # venv, appended after the new venv's own site-packages: modelyard itself is the wheel's.
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {
        **CLEAN_ENV,
        # The kernel inherits these: the notebook reads MODELYARD_URL / MODELYARD_API_KEY.
        "MODELYARD_URL": api_url,
        "MODELYARD_API_KEY": admin_key,
        "QUICKSTART_MODEL": unique("quickstart"),
    }
    out = run(str(py), "-c", RUNNER, str(REPO / "docs" / "quickstart.ipynb"), cwd=empty, env=env, timeout=400)
    got = json.loads(out.strip().splitlines()[-1])
    assert Path(got["modelyard"]).is_relative_to(venv), got["modelyard"]
    assert got["errors"] == 0
    assert got["shown"] >= 6, "the cells that end in an expression show it"
