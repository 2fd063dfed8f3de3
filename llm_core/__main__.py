"""``python -m llm_core``: the command line (see ``llm_core.cli``)."""

import sys

from llm_core.cli import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
