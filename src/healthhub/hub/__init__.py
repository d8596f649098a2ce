"""The hub on disk: configuration, key store, landing zone, runs and the ingest pipeline."""
