"""Parity before registering: run the ONNX export in onnxruntime next to the original model on the same rows
and say how far apart they are. Needs the ``parity`` extra (onnxruntime, numpy)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from ._frames import is_dataframe
from ._upload import Source
from .errors import MissingDependencyError, ParityError

_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(string)": "object",
    "tensor(bool)": "bool",
}


@dataclass(frozen=True)
class ParityReport:
    """``max_abs_diff`` over every row and output column (at ``worst_row``, ``worst_column``); ``label_agreement``
    is the share of rows whose most likely class (or label) is the same."""

    rows: int
    output: str
    max_abs_diff: float
    worst_row: int
    worst_column: int
    label_agreement: float
    atol: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.atol and self.label_agreement == 1.0

    def raise_for_mismatch(self) -> "ParityReport":
        if not self.ok:
            raise ParityError(
                f"the ONNX output {self.output!r} differs from the original model: max |diff| {self.max_abs_diff:.3g} "
                f"(tolerance {self.atol:g}) at row {self.worst_row}, column {self.worst_column}; "
                f"labels agree on {self.label_agreement:.1%} of {self.rows} rows",
                report=self,
            )
        return self


def _deps() -> Any:
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        raise MissingDependencyError("check_parity needs onnxruntime: pip install 'modelyard[parity]'") from e
    return np, ort


def check_parity(
    onnx: Source, reference: Callable[[Any], Any], rows: Any, *, atol: float = 1e-4, output: Optional[str] = None
) -> ParityReport:
    """Runs ``onnx`` (path or bytes) and ``reference`` (e.g. a scikit-learn model's ``predict_proba``, or
    ``predict`` for a regressor) on ``rows`` (a DataFrame or 2-D array; the callable gets them as given) and
    compares. A one-input model gets the rows as one matrix, in the order of its ``feature_names`` metadata
    when the rows are a DataFrame that has those columns; a model with one input per column gets each column.
    ``output`` names the ONNX output to compare (default: the probabilities, a ZipMap included, else the
    first output). Call ``.raise_for_mismatch()`` on the report, or pass ``parity_with`` to
    :meth:`Client.register`, which does."""
    np, ort = _deps()
    src = bytes(onnx) if isinstance(onnx, (bytearray, memoryview)) else onnx
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(src if isinstance(src, bytes) else str(src), so, providers=["CPUExecutionProvider"])
    feeds = _feeds(np, sess, rows)
    names = [o.name for o in sess.get_outputs()]
    results = dict(zip(names, sess.run(None, feeds)))
    expected = np.asarray(reference(rows))
    n = len(next(iter(feeds.values())))
    name, got = _pick_output(np, results, names, expected, output)
    if expected.ndim == 1:
        expected = expected.reshape(-1, 1)
    if got.ndim == 1:
        got = got.reshape(-1, 1)
    if got.shape != expected.shape:
        raise ParityError(
            f"the ONNX output {name!r} has shape {got.shape}, the original model's {expected.shape}", report=None
        )
    if got.dtype.kind in "fiub" and expected.dtype.kind in "fiub":
        diff = np.abs(got.astype("float64") - expected.astype("float64"))
        flat = int(np.nanargmax(diff)) if diff.size else 0
        worst_row, worst_col = divmod(flat, diff.shape[1]) if diff.size else (0, 0)
        max_diff = float(diff.max()) if diff.size else 0.0
        same = (
            got.argmax(axis=1) == expected.argmax(axis=1)
            if got.shape[1] > 1
            else np.isclose(got, expected, atol=atol)[:, 0]
        )
    else:
        same = (got.astype(str) == expected.astype(str)).all(axis=1)
        bad = np.flatnonzero(~same)
        worst_row, worst_col = (int(bad[0]) if bad.size else 0), 0
        max_diff = 0.0 if same.all() else float("inf")
    return ParityReport(
        rows=n,
        output=name,
        max_abs_diff=max_diff,
        worst_row=int(worst_row),
        worst_column=int(worst_col),
        label_agreement=float(np.mean(same)) if n else 1.0,
        atol=atol,
    )


def _feeds(np: Any, sess: Any, rows: Any) -> Dict[str, Any]:
    inputs = sess.get_inputs()
    if len(inputs) == 1:
        spec = inputs[0]
        if is_dataframe(rows):
            meta = sess.get_modelmeta().custom_metadata_map.get("feature_names")
            order: Optional[List[str]] = json.loads(meta) if meta else None
            cols = order if order and all(c in rows.columns for c in order) else list(rows.columns)
            arr = rows[cols].to_numpy()
        else:
            arr = np.asarray(rows)
        return {spec.name: np.ascontiguousarray(arr, dtype=_DTYPES.get(spec.type, "float32"))}
    if not is_dataframe(rows):
        raise ValueError("this model takes one input per column: give the rows as a DataFrame with those columns")
    return {
        i.name: np.ascontiguousarray(rows[[i.name]].to_numpy(), dtype=_DTYPES.get(i.type, "float32")) for i in inputs
    }


def _pick_output(np: Any, results: Dict[str, Any], names: Sequence[str], expected: Any, wanted: Optional[str]) -> Any:
    def as_array(v: Any) -> Any:
        if isinstance(v, list) and v and isinstance(v[0], dict):  # ZipMap: one {class: probability} per row
            return np.array([list(d.values()) for d in v], dtype="float64")
        return np.asarray(v)

    if wanted is not None:
        if wanted not in results:
            raise ValueError(f"the model has no output {wanted!r} (it has {', '.join(names)})")
        return wanted, as_array(results[wanted])
    width = expected.shape[1] if expected.ndim == 2 else 1
    if expected.ndim == 2 and width > 1:
        for n in names:
            a = as_array(results[n])
            if a.ndim == 2 and a.shape[1] == width and a.dtype.kind == "f":
                return n, a
    return names[0], as_array(results[names[0]])
