"""python -m importer -> the keen-import command."""

import sys

from importer.cli import main

sys.exit(main())
