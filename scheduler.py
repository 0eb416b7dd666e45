"""The long-running worker: runs each segment's sync on its schedule (same as ``syncer schedule``).

python scheduler.py [--reload-seconds N]      # options and environment as for `syncer`
"""

from __future__ import annotations

import sys

from syncer.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["schedule", *sys.argv[1:]]))
