"""The package is typed: mypy --strict passes on its source, and a user's code type-checks against it
(py.typed), with a wrong call caught."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1]

USER_CODE = """
import modelyard

def latest(c: modelyard.Client, name: str) -> int:
    v: modelyard.ModelVersion = c.register(name, onnx=b"...", metrics={"auc": 0.9}, wait=True)
    job: modelyard.Job = c.score(name, "in.csv", wait=False)
    try:
        c.promote(name, v.version)
    except modelyard.ClientError as e:
        print(e.status, e.code)
    return v.version + len(job.id)
"""


def mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def test_mypy_strict_passes_on_the_package_and_checks_callers(tmp_path: Path) -> None:
    own = mypy("src/modelyard", cwd=CLIENT)
    assert own.returncode == 0, own.stdout + own.stderr
    good = tmp_path / "good.py"
    good.write_text(USER_CODE)
    bad = tmp_path / "bad.py"
    bad.write_text(USER_CODE.replace("c.promote(name, v.version)", "c.promote(name, str(v.version))"))
    ok = mypy("--strict", "--ignore-missing-imports", str(good), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    wrong = mypy("--strict", "--ignore-missing-imports", str(bad), cwd=tmp_path)
    assert wrong.returncode == 1 and 'Argument 2 to "promote" of "Client" has incompatible type "str"' in wrong.stdout
