"""What a shared server needs: one memory budget for caches, bounded by bytes (`memory`), and
the registry of background training jobs with its queue (`jobs`)."""
