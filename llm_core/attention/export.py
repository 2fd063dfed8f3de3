"""A matrix of attention weights as a file: CSV (a header of key labels, one row per
query) or JSON (``{...about, "labels": [...], "matrix": [[...]]}``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np


def matrix_csv(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """CSV with a header row of key labels and one row per query label."""
    import csv
    import io

    matrix = np.asarray(matrix, dtype=np.float64)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["query \\ key", *labels])
    for label, row in zip(labels, matrix, strict=True):
        writer.writerow([label, *(f"{value:.6g}" for value in row)])
    return out.getvalue()


def matrix_json(matrix: np.ndarray, labels: Sequence[str], **about: Any) -> str:
    """JSON: ``about`` (model, text, layer, ...) plus ``labels`` and ``matrix`` [query][key]."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return json.dumps(
        {**about, "labels": list(labels), "matrix": np.round(matrix, 6).tolist()},
        ensure_ascii=False,
        indent=1,
    )
