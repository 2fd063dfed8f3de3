"""Attention: captured from a forward pass (``capture``), grouped and reduced
(``reductions``), summarised per head (``stats``), worked out step by step (``formula``),
and written out as files (``export``)."""
