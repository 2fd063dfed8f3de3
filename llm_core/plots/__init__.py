"""Every figure builder (plotly and altair, never streamlit), usable from notebooks:
heatmaps (``heatmaps``), attention across heads and layers (``attention``), the formula
(``formula``), generation (``generation``), training (``training``), compression
(``compression``) and the model card (``model``)."""
