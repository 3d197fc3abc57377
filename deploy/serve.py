"""Serves N replicas of rnnviz behind nginx on one machine: `python deploy/serve.py -n 2`.

Starts `streamlit run app.py` N times on consecutive ports (each replica its own process,
so N replicas use N cores) and Debian's nginx in front (deploy/nginx.conf.template, sticky
sessions by cookie), in the foreground; Ctrl-C stops everything. nginx must be installed
(`apt-get install nginx`); it runs as the current user with its files in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"


def nginx_config(listen: int, ports: list[int], prefix: Path) -> str:
    """Returns the nginx configuration for replicas on `ports`, listening on `listen`."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in ports)
    return (
        TEMPLATE.read_text()
        .replace("@LISTEN@", f"127.0.0.1:{listen}")
        .replace("@SERVERS@", servers)
        .replace("@PREFIX@", str(prefix))
    )


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def replicas(ports: list[int], listen: int, env: dict | None = None) -> Iterator[str]:
    """Starts a replica on each port and nginx; yields nginx's URL once all answer."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise RuntimeError("nginx is not installed: apt-get install -y nginx")
    prefix = Path(tempfile.mkdtemp(prefix="rnnviz-nginx-"))
    procs: list[subprocess.Popen] = []
    try:
        for port in ports:
            command = [
                sys.executable, "-m", "streamlit", "run", "app.py",
                "--server.port", str(port), "--server.address", "127.0.0.1",
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none",
            ]  # fmt: skip
            log = open(prefix / f"replica-{port}.log", "wb")  # noqa: SIM115 (lives with the process)
            procs.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, **(env or {})},
                )
            )
        (prefix / "nginx.conf").write_text(nginx_config(listen, ports, prefix))
        procs.append(
            subprocess.Popen(
                [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                start_new_session=True,
            )
        )
        url = f"http://127.0.0.1:{listen}"
        deadline = time.monotonic() + 120
        while not (all(healthy(f"http://127.0.0.1:{p}") for p in ports) and healthy(url)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"replicas or nginx did not start; logs in {prefix}")
            time.sleep(0.25)
        yield url
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(prefix, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--replicas", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--port", type=int, default=8501, help="nginx's port (default 8501)")
    parser.add_argument("--first-replica-port", type=int, default=8601)
    args = parser.parse_args()
    ports = [args.first_replica_port + i for i in range(args.replicas)]
    with replicas(ports, args.port) as url:
        print(f"{args.replicas} replicas behind {url} (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
