"""Users' own training, recorded by `RecordStates` and opened with `open_run`."""
