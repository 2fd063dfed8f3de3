"""Compression on a copy of a model: int8 and bf16 weights (``quantize``), magnitude
pruning (``pruning``), head pruning (``head_pruning``), distillation (``distillation``),
sizes (``sizes``), quality against the original (``metrics``), whole runs (``run``,
``sweep``), and saved variants (``variants``)."""
