import sys

from syncer.demo.run import main

sys.exit(main())
