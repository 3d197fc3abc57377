"""Users' own `.keras` / `.h5` files: checks on the raw bytes (`modelfile`), Keras's loader in
a resource-limited child process (`worker`, driven by `loader`), tracing any recurrent layer
of the rebuilt model (`models`) and the shipped example files (`examples`)."""
