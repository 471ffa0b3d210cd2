import sys

from raekit.cli import main

sys.exit(main())
