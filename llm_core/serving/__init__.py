"""Serving many sessions from one model: a worker per loaded model with a queue
(``worker``), continuous batching of generations (``batch``), the tickets a caller holds
(``tickets``) and the gate that makes background jobs yield to interactive work (``gate``)."""
