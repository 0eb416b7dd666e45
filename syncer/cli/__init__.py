"""The ``syncer`` command line."""
