"""Attention figures: shapes, labels, values equal to the matrix, exports."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from llm_core.attention.export import matrix_csv, matrix_json, matrix_record
from llm_core.attention.matrices import AttentionMatrix
from llm_core.plots.attention import head_grid_figure, overview_figure, text_flow_figure
from llm_core.plots.heatmaps import MAX_ANNOTATED_SIZE, attention_heatmap, figure_html, fit_matrix

LABELS = ["我", "爱", "吃", "苹果"]


def causal_matrix(n: int, seed: int = 0) -> np.ndarray:
    """A random [query, key] matrix: lower triangular, rows summing to 1."""
    rng = np.random.default_rng(seed)
    weights = np.tril(rng.random((n, n))) + np.eye(n) * 1e-3
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32)


def test_heatmap_values_labels_and_empty_upper_triangle():
    matrix = causal_matrix(4)
    figure = attention_heatmap(matrix, LABELS, query_title="行", key_title="列", value_name="权重")
    heatmap = figure.data[0]
    z = np.array(heatmap.z, dtype=float)
    assert z.shape == (4, 4)
    lower = np.tril(np.ones((4, 4), dtype=bool))
    np.testing.assert_allclose(z[lower], matrix[lower], rtol=1e-6)
    assert np.isnan(z[~lower]).all()  # a causal model cannot look ahead: drawn empty
    assert list(figure.layout.xaxis.ticktext) == LABELS
    assert list(figure.layout.yaxis.ticktext) == LABELS
    assert figure.layout.xaxis.title.text == "列" and figure.layout.yaxis.title.text == "行"
    assert "权重" in heatmap.hovertemplate
    assert heatmap.customdata[3][0].tolist() == ["苹果", "我"]  # [query, key] hover labels
    assert heatmap.texttemplate  # small matrices print their values


def test_heatmap_keeps_repeated_labels_apart_and_escapes_html():
    labels = ["the", "<script>", "the"]
    figure = attention_heatmap(causal_matrix(3), labels)
    assert list(figure.layout.xaxis.tickvals) == [0, 1, 2]
    assert list(figure.layout.xaxis.ticktext) == ["the", "&lt;script&gt;", "the"]
    assert "<script>" not in json.dumps(figure.to_plotly_json(), default=str)


def test_heatmap_without_mask_shows_a_full_matrix():
    matrix = np.full((3, 3), 1 / 3, dtype=np.float32)
    z = np.array(attention_heatmap(matrix, ["a", "b", "c"]).data[0].z, dtype=float)
    np.testing.assert_allclose(z, matrix)  # not all-zero above the diagonal: nothing masked


def test_fit_matrix_pools_into_blocks_that_keep_rows_summing_to_one():
    matrix = causal_matrix(100)
    labels = [str(i % 10) for i in range(100)]
    same, same_labels, block = fit_matrix(matrix, labels, max_size=100)
    assert block == 1 and same.shape == (100, 100) and same_labels == labels
    pooled, pooled_labels, block = fit_matrix(matrix, labels, max_size=30)
    assert block == 4 and pooled.shape == (25, 25) and len(pooled_labels) == 25
    assert pooled_labels[0] == "0123"
    np.testing.assert_allclose(pooled.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(pooled[0, 0], matrix[:4, :4].sum(-1).mean(), rtol=1e-5)
    assert np.all(np.triu(pooled, k=1) == 0)


def test_large_heatmap_skips_cell_text_and_thins_tick_labels():
    n = 200
    figure = attention_heatmap(causal_matrix(n), [f"t{i}" for i in range(n)])
    assert n > MAX_ANNOTATED_SIZE and not figure.data[0].texttemplate
    assert len(figure.layout.xaxis.tickvals) <= 30


def test_head_grid_has_one_heatmap_per_head_on_a_shared_scale():
    weights = np.stack([causal_matrix(4, seed) for seed in range(5)])
    titles = [f"头 {h}" for h in range(5)]
    figure = head_grid_figure(weights, LABELS, titles, columns=3)
    assert len(figure.data) == 5
    assert all(trace.coloraxis == "coloraxis" for trace in figure.data)
    for head, trace in enumerate(figure.data):
        z = np.array(trace.z, dtype=float)
        lower = np.tril(np.ones((4, 4), dtype=bool))
        np.testing.assert_allclose(z[lower], weights[head][lower], rtol=1e-6)
    assert [a.text for a in figure.layout.annotations] == titles
    assert figure.layout.coloraxis.cmax == pytest.approx(float(weights.max()))
    with pytest.raises(ValueError):
        head_grid_figure(weights, LABELS, titles[:2])


@pytest.mark.parametrize("n_heads", [5, 9])
def test_head_grid_lays_heads_out_as_plotly_subplots_would(n_heads):
    """The grid's layout, written out at once, is make_subplots' for the same grid: each
    head on its own axes, the same domains and title places, first row on top."""
    from plotly.subplots import make_subplots

    from llm_core.plots.attention import GRID_SPACING

    weights = np.stack([causal_matrix(4, seed) for seed in range(n_heads)])
    titles = [f"head {h}" for h in range(n_heads)]
    figure = head_grid_figure(weights, LABELS, titles, columns=3)
    rows = -(-n_heads // 3)
    reference = make_subplots(
        rows=rows, cols=3, subplot_titles=titles,
        horizontal_spacing=GRID_SPACING[0], vertical_spacing=GRID_SPACING[1] / rows,
    )  # fmt: skip
    for cell in range(rows * 3):
        name = "" if cell == 0 else str(cell + 1)
        for axis in ("xaxis", "yaxis"):
            mine, theirs = figure.layout[axis + name], reference.layout[axis + name]
            assert mine.anchor == theirs.anchor
            np.testing.assert_allclose(mine.domain, theirs.domain, atol=1e-9)
        assert figure.layout["yaxis" + name].autorange == "reversed"
    for mine, theirs in zip(figure.layout.annotations, reference.layout.annotations, strict=True):
        assert mine.text == theirs.text
        assert (mine.x, mine.y) == pytest.approx((theirs.x, theirs.y))
        assert (mine.xanchor, mine.yanchor, mine.xref, mine.yref) == (
            theirs.xanchor, theirs.yanchor, theirs.xref, theirs.yref,
        )  # fmt: skip
    for head, trace in enumerate(figure.data):  # head h on the axes of cell h
        name = "" if head == 0 else str(head + 1)
        assert (trace.xaxis, trace.yaxis) == (f"x{name}", f"y{name}")


def test_overview_cells_carry_layer_and_head_for_clicks():
    values = np.arange(30 * 9, dtype=np.float32).reshape(30, 9) / 270
    figure = overview_figure(values, layer_title="层", head_title="头", selected=(3, 2))
    heatmap, points = figure.data
    np.testing.assert_allclose(np.array(heatmap.z, dtype=float), values, rtol=1e-6)
    assert len(points.x) == 270
    index = 3 * 9 + 2
    assert (points.y[index], points.x[index]) == (3, 2)
    assert points.customdata[index].tolist() == [3, 2]
    assert figure.layout.shapes[0].x0 == 1.5 and figure.layout.shapes[0].y0 == 2.5
    assert figure.layout.yaxis.title.text == "层"


def test_text_flow_draws_lines_by_weight():
    matrix = np.array([[1.0, 0, 0], [0.25, 0.75, 0], [0.5, 0.01, 0.49]], dtype=np.float32)
    labels = ["我", "爱", "<b>"]
    figure = text_flow_figure(matrix, labels, query_title="看", key_title="被看")
    lines = [trace for trace in figure.data if trace.mode == "lines"]
    n_segments = sum(len(trace.x) // 3 for trace in lines)
    assert n_segments == 5  # every weight >= MIN_FLOW_WEIGHT; 0.01 and zeros are left out
    hover = next(trace for trace in figure.data if trace.mode == "markers")
    weights = sorted(round(row[2], 3) for row in hover.customdata)
    assert weights == [0.25, 0.49, 0.5, 0.75, 1.0]
    texts = [trace for trace in figure.data if trace.mode == "markers+text"]
    assert [list(trace.text) for trace in texts] == [["我", "爱", "&lt;b&gt;"]] * 2
    assert [a.text for a in figure.layout.annotations] == ["<b>看</b>", "<b>被看</b>"]
    focused = text_flow_figure(matrix, labels, focus=1)
    assert sum(len(t.x) // 3 for t in focused.data if t.mode == "lines") == 2


def test_csv_and_json_exports_hold_the_matrix():
    matrix = causal_matrix(4)
    view = AttentionMatrix(matrix, tuple(LABELS), "word", "head", 3, 2)
    rows = list(csv.reader(io.StringIO(matrix_csv(view))))
    assert rows[0][1:] == LABELS and [row[0] for row in rows[1:]] == LABELS
    np.testing.assert_allclose(np.array([row[1:] for row in rows[1:]], float), matrix, atol=1e-6)
    data = json.loads(matrix_json(view, text="我爱吃苹果"))
    assert data["labels"] == LABELS and data["layer"] == 3 and data["text"] == "我爱吃苹果"
    np.testing.assert_allclose(np.array(data["weights"]), matrix, atol=1e-6)
    assert data == matrix_record(view, text="我爱吃苹果")  # the download is the CLI's record


def test_html_export_embeds_plotly_and_works_offline():
    page = figure_html(attention_heatmap(causal_matrix(4), LABELS))
    assert "<html>" in page and "Plotly.newPlot" in page
    assert '<script src="http' not in page and len(page) > 1_000_000  # plotly.js is inside
    assert "苹果" in page or "\\u82f9\\u679c" in page
