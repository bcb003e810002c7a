"""python -m importer -> the keen-import command."""

import sys

from .cli import main

sys.exit(main())
