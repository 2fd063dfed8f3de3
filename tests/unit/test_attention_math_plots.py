"""Figures of the attention formula: what they draw must be the engine's numbers, with
masked cells greyed, labels kept apart and escaped, and big matrices kept light."""

from __future__ import annotations

import numpy as np
import pytest

from llm_core.attention.formula import RealHeadCheck, attention_steps, causal_mask, softmax_rows
from llm_core.plots.formula import (
    REAL_HEAD_FIGURES,
    STEP_NAMES,
    head_step_figures,
    real_head_figures,
)
from llm_core.plots.heatmaps import MASK_COLOUR, MASKED_TEXT, MAX_TICK_LABELS, heatmap


def _trace(figure, name: str = "values"):
    (trace,) = [trace for trace in figure.data if trace.name == name]
    return trace


def _annotations(figure) -> list[str]:
    return [a.text for a in figure.layout.annotations]


def test_heatmap_greys_minus_infinity_and_keeps_values():
    matrix = np.array([[1.0, -np.inf], [0.25, 2.0]])
    figure = heatmap(matrix, ["a", "b"], ["a", "b"])
    values = np.array(_trace(figure).z, dtype=float)
    assert np.isnan(values[0, 1])  # the empty cell shows the mask colour behind it
    assert figure.layout.plot_bgcolor == MASK_COLOUR
    np.testing.assert_allclose(values[[0, 1, 1], [0, 0, 1]], [1.0, 0.25, 2.0])
    assert _annotations(figure) == [MASKED_TEXT]
    assert _trace(figure).texttemplate == "%{z:.2f}"


def test_repeated_and_html_labels_stay_separate_and_escaped():
    labels = ["的", "的", "<script>alert(1)</script>"]
    figure = heatmap(np.eye(3), labels, labels)
    assert list(figure.layout.yaxis.tickvals) == [0, 1, 2]
    assert figure.layout.yaxis.ticktext[:2] == ("的", "的")
    assert "<script>" not in "".join(figure.layout.xaxis.ticktext)
    assert figure.layout.xaxis.ticktext[2].startswith("&lt;script&gt;")  # cut to fit a tick
    assert _trace(figure).customdata[2][0][0] == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_heatmap_rejects_wrong_label_counts():
    with pytest.raises(ValueError, match="2 row labels"):
        heatmap(np.zeros((2, 3)), ["a"], ["x", "y", "z"])


def test_centred_scale_is_symmetric_around_zero():
    figure = heatmap(np.array([[-1.0, 3.0]]), ["a"], ["x", "y"], centred=True)
    assert (_trace(figure).zmin, _trace(figure).zmax) == (-3.0, 3.0)


def test_toy_head_figures_show_each_step_of_the_engine():
    steps = attention_steps()
    head = steps.heads[0]
    figures = head_step_figures(head, steps.labels, {"sum": "Σ", "dim": "d{index}"})
    assert tuple(figures) == STEP_NAMES
    for name in STEP_NAMES:
        expected = getattr(head, name)
        shown = np.array(_trace(figures[name]).z, dtype=float)
        # Only the masked step and the weights grey cells: exactly the masked ones.
        coloured = head.mask if name in ("masked", "weights") else np.isfinite(expected)
        assert np.array_equal(np.isfinite(shown), coloured), name
        np.testing.assert_allclose(shown[coloured], expected[coloured], atol=1e-6)
    assert list(figures["q"].layout.xaxis.ticktext) == ["d1", "d2", "d3"]
    weights = figures["weights"]
    assert list(weights.layout.yaxis.ticktext) == ["我", "爱", "吃", "苹果"]
    assert weights.layout.xaxis.ticktext[-1] == "Σ"
    # Masked weights are grey with their 0 written; the row sums read 1.00.
    assert _annotations(weights).count("<b>1.00</b>") == 4
    assert _annotations(weights).count("0.00") == 6
    assert _annotations(figures["masked"]).count(MASKED_TEXT) == 6


def test_no_mask_leaves_no_grey_cells():
    steps = attention_steps(causal=False)
    figures = head_step_figures(steps.heads[0], steps.labels)
    # the only annotations are the row sums: no grey cell has its value written
    assert all(text.startswith("<b>") for text in _annotations(figures["weights"]))
    assert not np.isnan(np.array(_trace(figures["weights"]).z, dtype=float)).any()


def _fake_check(n_tokens: int, seed: int = 0) -> RealHeadCheck:
    rng = np.random.default_rng(seed)
    q, k = rng.normal(size=(n_tokens, 8)), rng.normal(size=(n_tokens, 8))
    scaled = np.where(causal_mask(n_tokens), q @ k.T / np.sqrt(8), -np.inf)
    weights = softmax_rows(scaled)
    return RealHeadCheck(
        layer=0,
        head=0,
        kv_head=0,
        d_head=8,
        scale=8**-0.5,
        position_encoding="RoPE",
        q=q,
        k=k,
        scaled_scores=scaled,
        recomputed=weights,
        reported=weights + 1e-7 * np.tril(np.ones_like(weights)),
        max_abs_diff=1e-7,
    )


def test_real_head_figures_compare_recomputed_and_reported():
    check = _fake_check(5)
    labels = ["我", "爱", "吃", "苹", "果"]
    titles = {name: name.upper() for name in REAL_HEAD_FIGURES}
    figures = real_head_figures(check, labels, titles)
    assert tuple(figures) == REAL_HEAD_FIGURES
    assert figures["reported"].layout.title.text == "REPORTED"
    recomputed = np.array(_trace(figures["recomputed"]).z, dtype=float)
    np.testing.assert_allclose(np.nan_to_num(recomputed).sum(axis=1), 1.0, atol=1e-6)
    assert np.isnan(recomputed[np.triu_indices(5, k=1)]).all()
    difference = _trace(figures["difference"])
    assert difference.texttemplate is None and difference.zmax == pytest.approx(1e-7)


def test_long_texts_drop_cell_numbers_and_thin_the_ticks():
    n = 300
    check = _fake_check(n)
    labels = [f"t{i}" for i in range(n)]
    figure = real_head_figures(check, labels)["recomputed"]
    assert _trace(figure).texttemplate is None and _trace(figure).customdata is None
    assert not figure.layout.annotations
    assert len(figure.layout.yaxis.tickvals) <= MAX_TICK_LABELS
    assert figure.layout.height <= 640


def test_tiny_differences_are_not_rounded_away():
    figure = real_head_figures(_fake_check(4), list("abcd"))["difference"]
    assert np.nanmax(np.array(_trace(figure).z, dtype=float)) == pytest.approx(1e-7)
