import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests check numbers, not speed: the graph tier alone keeps them deterministic and
# spares the two CPUs the background XLA compiles (the benchmark measures those).
os.environ.setdefault("RNNVIZ_XLA", "never")
os.environ.setdefault("RNNVIZ_PREWARM", "0")
