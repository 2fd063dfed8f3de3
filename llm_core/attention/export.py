"""An attention matrix as a file or a JSON record, one shape for every caller: the CLI's
``attention --json`` prints ``matrix_record``, the Attention page's JSON download is
``matrix_json`` of the same matrix, and its CSV is ``matrix_csv``.

Record: ``{...about (model, text), "level", "reduction", "layer", "head", "labels",
"weights": [[...]]}``; ``weights[query][key]`` rounded to 6 decimals, ``layer`` and
``head`` null where the reduction covers every layer or head.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from llm_core.attention.matrices import AttentionMatrix


def matrix_record(matrix: AttentionMatrix, **about: Any) -> dict[str, Any]:
    """The JSON-ready record of ``matrix`` (see the module doc), ``about`` first."""
    return {
        **about,
        "level": matrix.level,
        "reduction": matrix.reduction,
        "layer": matrix.layer,
        "head": matrix.head,
        "labels": list(matrix.labels),
        "weights": np.round(np.asarray(matrix.weights, dtype=np.float64), 6).tolist(),
    }


def matrix_json(matrix: AttentionMatrix, **about: Any) -> str:
    """``matrix_record`` as indented UTF-8 JSON text (Chinese labels stay readable)."""
    return json.dumps(matrix_record(matrix, **about), ensure_ascii=False, indent=1)


def matrix_csv(matrix: AttentionMatrix) -> str:
    """CSV with a header row of key labels and one row per query label."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["query \\ key", *matrix.labels])
    for label, row in zip(matrix.labels, np.asarray(matrix.weights), strict=True):
        writer.writerow([label, *(f"{value:.6g}" for value in row)])
    return out.getvalue()
