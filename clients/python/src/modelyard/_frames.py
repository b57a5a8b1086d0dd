"""pandas is an optional extra: imported on first use, with a message saying how to get it."""

from __future__ import annotations

import math
from typing import Any, Dict, List

from .errors import MissingDependencyError


def pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - exercised in the packaging test's bare venv
        raise MissingDependencyError(
            "this needs pandas: pip install 'modelyard[pandas]' (or use the *_records methods)"
        ) from e
    return pd


def is_dataframe(x: Any) -> bool:
    mod = type(x).__module__
    return mod.startswith("pandas") and type(x).__name__ == "DataFrame"


def is_ndarray(x: Any) -> bool:
    return type(x).__module__ == "numpy" and type(x).__name__ == "ndarray"


def clean(v: Any) -> Any:
    """A JSON-safe value: numpy scalars to Python, NaN and NaT to null (the API then names the row and feature)."""
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    item = getattr(v, "item", None)
    if callable(item):
        try:
            return clean(item())
        except (TypeError, ValueError):
            pass
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, dict):
        return {str(k): clean(x) for k, x in v.items()}
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return str(v)


def frame_to_records(df: Any) -> List[Dict[str, Any]]:
    cols = [str(c) for c in df.columns]
    return [dict(zip(cols, (clean(v) for v in row))) for row in df.itertuples(index=False, name=None)]


def frame_to_reference(df: Any) -> Dict[str, Any]:
    """A DataFrame as the API's drift reference: ``{"feature_names": [...], "rows": [[...], ...]}``."""
    return {
        "feature_names": [str(c) for c in df.columns],
        "rows": [[clean(v) for v in row] for row in df.itertuples(index=False, name=None)],
    }
