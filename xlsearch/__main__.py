import sys

from xlsearch.cli import main

sys.exit(main())
