"""What every browser check here shares: Chromium's flags, a free port, Streamlit's health.

Used by tests/test_browser.py, scripts/screenshots.py and scripts/bench_browser.py.
"""

from __future__ import annotations

import socket
import sys
import urllib.error
import urllib.request

#: Debian's Chromium, headless, as root, on a machine whose only network is loopback:
#: without the background-networking flags it keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_healthy(base_url: str) -> bool:
    """True once the Streamlit server at base_url answers its health check."""
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def streamlit_command(script: str, port: int) -> list[str]:
    """Returns the command serving script headless on 127.0.0.1:port, as the checks need it.

    No file watcher: others may edit the sources meanwhile, and a "source changed"
    rerun in the middle of a measurement or test would be noise.
    """
    return [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
