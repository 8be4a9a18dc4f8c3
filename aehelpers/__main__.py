"""`python -m aehelpers execute|seeds|build ...`: run notebooks (once, or per seed), or build the PDFs."""

import sys

from .cli import main

sys.exit(main())
