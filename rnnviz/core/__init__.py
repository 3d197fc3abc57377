"""The trace engine and its contract: the configuration and its limits (`config`), the
result every source returns (`trace`), the genuine Keras layer and its tracer (`tracer`),
`run` / `trace_layer` (`run`), and the weights and input signals drawn by NumPy (`params`,
`signals`)."""
