import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests check numbers, not speed: the graph tier alone keeps them deterministic and
# spares the two CPUs the background XLA compiles (the benchmark measures those).
os.environ.setdefault("RNNVIZ_XLA", "never")
os.environ.setdefault("RNNVIZ_PREWARM", "0")
# ▶ Animate opens the GIF renderer's Chromium in the background (2-3 s of CPU): the page
# tests would pay it in every server; tests/test_animation.py tests the warm-up itself.
os.environ.setdefault("RNNVIZ_GIF_WARMUP", "0")

import pytest
from hypothesis import settings

# No example database: a run writes nothing into the work tree (the loader tests check that
# nothing new appears in the working directory while they run).
settings.register_profile("rnnviz", database=None)
settings.load_profile("rnnviz")

# Each pytest process (each xdist worker) gets a temporary directory of its own, inherited by
# the processes it starts: the loader tests check that nothing new appears in the temp dir
# while they run, and a model worker started by a test on the other xdist worker must not
# look like a leak (CI once failed on exactly that: a 'rnnviz-worker-…' of the other worker).
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_own_tmp = tempfile.mkdtemp(prefix=f"rnnviz-tests-{_worker}-")
os.environ["TMPDIR"] = _own_tmp
tempfile.tempdir = None
atexit.register(shutil.rmtree, _own_tmp, ignore_errors=True)

#: Modules that watch the machine (files in /tmp and the working directory, child
#: processes) or run servers and browsers: with `pytest -n 2` they share one worker, so
#: they never run beside each other.
SERIAL = ("test_loader", "test_browser", "test_browser_pages", "test_browser_train",
          "test_replicas", "test_server_config", "test_training", "test_jobs",
          "test_package", "test_animation")  # fmt: skip
# tests/test_browser_play.py is not in the group: its waits are for frames and the URL,
# not for the machine's speed, and the group's chain is the suite's longest path.


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.split(".")[-1] in SERIAL:
            item.add_marker(pytest.mark.xdist_group("machine"))
