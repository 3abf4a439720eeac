import sys

from fsgeo.cli import main

sys.exit(main())
