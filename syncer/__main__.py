import sys

from syncer.cli.main import main

sys.exit(main())
