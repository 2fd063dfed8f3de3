"""Attention: one forward pass kept as a trace (``trace``), any layer recomputed from it
(``recompute``), every layer folded into statistics, mean and rollout (``summary``), the
one matrix a view shows (``matrices``) and its files (``export``), grouped and reduced
(``reductions``), summarised per head (``stats``), every layer at once as arrays
(``capture``), a bounded cache of traces (``trace_store``), and the formula worked step
by step (``formula``)."""
