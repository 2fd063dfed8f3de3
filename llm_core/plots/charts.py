"""Altair charts in one style: lines with a hover rule, and horizontal bars.

Altair (never streamlit), so a notebook shows the same charts as the app; plotly stays
for heatmaps (``heatmaps``). Every word on a chart is an argument, so the UI passes
translated ones, and text uses the CJK-capable ``FONT_FAMILY`` of the heatmaps.

    chart = line_chart(frame, "step", [Line("train_loss", "training loss", "#1f77b4")],
                       x_title="step", y_title="loss")

A line chart shows a vertical rule at the x nearest the pointer, with every line's value
there in its tooltip (``frame``: one row per x, one column per line; NaN where a line
has no point).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd

from llm_core.plots.heatmaps import FONT_FAMILY

RULE_COLOUR = "#888888"
Y_FORMAT = ",.4~g"  # 3.848713 -> 3.849, 1000 -> 1,000
GRID_COLOUR = "#e6e6e6"


@dataclass(frozen=True)
class Line:
    """One line of a ``line_chart``: its column, its name (legend and tooltip), colour,
    and how it is drawn. ``log``: a log scale (lines on their own axes only)."""

    field: str
    name: str
    colour: str
    dashed: bool = False
    points: bool = False
    value_format: str = ",.3f"
    log: bool = False


def styled(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    """The shared look: CJK-capable font, light grid, full width, ``height`` pixels."""
    return (
        chart.properties(height=height, width="container")
        .configure(font=FONT_FAMILY)
        .configure_axis(gridColor=GRID_COLOUR, labelFontSize=12, titleFontSize=13, labelLimit=320)
        .configure_legend(labelFontSize=12, orient="top", title=None)
        .configure_view(strokeWidth=0)
    )


def _valid(field: str) -> str:
    """A Vega expression: the row has a value in ``field`` (any name, quoted safely)."""
    return f"isValid(datum[{json.dumps(field)}])"


def line_chart(
    frame: pd.DataFrame,
    x: str,
    lines: Sequence[Line],
    *,
    x_title: str,
    y_title: str | None = None,
    x_domain: tuple[float, float] | None = None,
    x_format: str = ",d",
    x_step: float | None = None,
    own_axes: bool = False,
    height: int = 340,
) -> alt.TopLevelMixin:
    """Lines of ``frame``'s columns against column ``x``, with a hover rule (see the
    module docstring). ``own_axes``: each line on its own y axis (at most two: left and
    right, each titled with its line's name); otherwise one y axis titled ``y_title``.
    ``x_domain`` fixes the x range (a live chart then does not rescale as it grows);
    ``x_step``: the least distance between two x ticks (1 for steps)."""
    names = [line.name for line in lines]
    colour_scale = alt.Scale(domain=names, range=[line.colour for line in lines])
    x_scale = alt.Scale(domain=list(x_domain)) if x_domain else alt.Undefined
    ticks = alt.Axis(format=x_format, tickMinStep=x_step if x_step else alt.Undefined)
    x_axis = alt.X(f"{x}:Q", title=x_title, scale=x_scale, axis=ticks)
    layers = []
    for index, line in enumerate(lines):
        scale = alt.Scale(type="log") if line.log else alt.Scale(zero=False)
        if own_axes:
            axis = alt.Axis(
                title=line.name,
                orient="left" if index == 0 else "right",
                titleColor=line.colour,
                format="~s" if line.log else Y_FORMAT,  # a log axis: 100, 1k, 10k
            )
        else:
            axis = alt.Axis(title=y_title, format=Y_FORMAT)
        layers.append(
            alt.Chart(frame)
            .transform_filter(_valid(line.field))
            .transform_calculate(line=json.dumps(line.name))  # the legend's entry
            .mark_line(
                strokeWidth=2.5,
                strokeDash=[5, 4] if line.dashed else alt.Undefined,
                point=alt.OverlayMarkDef(size=60, filled=True) if line.points else False,
            )
            .encode(
                x=x_axis,
                y=alt.Y(f"{line.field}:Q", scale=scale, axis=axis),
                color=alt.Color("line:N", scale=colour_scale, title=None),
            )
        )
    nearest = alt.selection_point(
        fields=[x], nearest=True, on="pointerover", empty=False, clear="pointerout"
    )
    tooltip = [alt.Tooltip(f"{x}:Q", title=x_title, format=x_format)] + [
        alt.Tooltip(f"{line.field}:Q", title=line.name, format=line.value_format) for line in lines
    ]
    # Invisible points on top catch the pointer, so they carry the tooltip (the one under
    # the pointer is at the x the rule marks).
    selectors = (
        alt.Chart(frame)
        .mark_point(size=400)
        .encode(x=x_axis, opacity=alt.value(0), tooltip=tooltip)
        .add_params(nearest)
    )
    rule = (
        alt.Chart(frame)
        .mark_rule(color=RULE_COLOUR, strokeWidth=1.5)
        .encode(x=x_axis)
        .transform_filter(nearest)
    )
    chart = alt.layer(*layers, rule, selectors)
    if own_axes:
        chart = chart.resolve_scale(y="independent")
    return styled(chart, height)


def bar_chart(
    frame: pd.DataFrame,
    *,
    label: str,
    value: str,
    value_title: str,
    colour: str | None = None,
    group: str | None = None,
    group_colours: dict[str, str] | None = None,
    text: str | None = None,
    value_format: str = ",.1f",
    axis_format: str | None = None,
    height: int | None = None,
) -> alt.TopLevelMixin:
    """Horizontal bars of ``frame[value]`` per ``frame[label]`` (in frame order), each
    coloured by ``frame[colour]`` (a colour per row), ``frame[text]`` printed at its end;
    ``axis_format``: a d3 format for the value axis (e.g. "~s": 20M).
    With ``group``: the bars of a label side by side, coloured by group
    (``group_colours``: group -> colour, in the legend's order)."""
    order = list(dict.fromkeys(frame[label]))
    y = alt.Y(f"{label}:N", sort=order, title=None)
    x_axis = alt.Axis(format=axis_format) if axis_format else alt.Undefined
    encoding: dict = {"x": alt.X(f"{value}:Q", title=value_title, axis=x_axis), "y": y}
    tooltip = [alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{value}:Q", format=value_format)]
    if group is not None:
        colours = group_colours or {}
        encoding["color"] = alt.Color(
            f"{group}:N", scale=alt.Scale(domain=list(colours), range=list(colours.values()))
        )
        encoding["yOffset"] = alt.YOffset(f"{group}:N", sort=list(colours))
        tooltip.insert(0, alt.Tooltip(f"{group}:N"))
    elif colour is not None:
        encoding["color"] = alt.Color(f"{colour}:N", scale=None)
    bars = alt.Chart(frame).mark_bar(cornerRadiusEnd=3).encode(**encoding, tooltip=tooltip)
    layers = [bars]
    if text is not None:
        layers.append(
            alt.Chart(frame)
            .mark_text(align="left", dx=4, fontSize=12)
            .encode(
                x=f"{value}:Q",
                y=y,
                yOffset=encoding.get("yOffset", alt.Undefined),
                text=f"{text}:N",
            )
        )
    return styled(alt.layer(*layers), height or 50 + 34 * len(frame))
