"""`make demo`: the main job on SQLite and the local provider emulators (``python -m syncer.demo``).

A program on top of the CLI: it generates the sample shop (``syncer.sample``), wires the example
segments to the emulators (``config``), makes one segment from a template (``template``), runs
the full job twice (``sync``) and ends with one segment's insights drawn as the CLI draws them.
"""
