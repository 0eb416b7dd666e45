"""Where Syncer's logical tables live in the shop's database (``config/source.yaml``)."""
