"""docs/quickstart.ipynb runs cell by cell against the launched platform, as a user would run it."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO, unique


def test_every_cell_of_the_quickstart_notebook_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api_url: str, admin_key: str
) -> None:
    # The kernel inherits this process's environment: the notebook reads MODELYARD_URL / MODELYARD_API_KEY.
    monkeypatch.setenv("MODELYARD_URL", api_url)
    monkeypatch.setenv("MODELYARD_API_KEY", admin_key)
    monkeypatch.setenv("QUICKSTART_MODEL", unique("quickstart"))
    nb = nbformat.read(REPO / "docs" / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    outputs = [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")]
    assert len(outputs) >= 6, "the cells that end in an expression show it"
