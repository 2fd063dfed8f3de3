"""Text: tokens grouped into characters and words (``tokens``), corpora read and checked
(``corpus``), split and packed into blocks (``packing``)."""
