"""`python -m aehelpers execute|build ...`: run notebooks in a profile, or build reports to PDF."""

import sys

from .reports import main

sys.exit(main())
