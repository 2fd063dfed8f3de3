"""Models: find them (``specs``), convert the default one (``default_model``), load them
(``loading``), describe them (``description``), find their parts (``anatomy``), and save
outputs (``outputs``)."""
