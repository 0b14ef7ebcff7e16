"""``python -m leafgrad``: the same as the ``leafgrad`` command."""
import sys

from leafgrad.cli import main

sys.exit(main())
