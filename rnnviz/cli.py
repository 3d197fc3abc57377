"""The `rnnviz` command: serve the app, or open a model file or a recorded run in it.

    rnnviz                          the app on http://localhost:8501 (as `make run`)
    rnnviz serve --port 8600        on another port (--address 0.0.0.0 for a classroom)
    rnnviz open tagger.keras        the Your model page with that file opened
    rnnviz open runs/exp1           ... with a run recorded by RecordStates
    rnnviz --version

`open` checks the path here first (it exists, is a model file or a run whose files match
their SHA-256s), so a mistake is one line in the terminal, not a server to look at; the
page then opens it through the same checks and worker process as an upload. Every error
is one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path

#: The environment variable through which `rnnviz open` hands the page its path: set by
#: the command for the server it starts, never by anything a browser sends.
OPEN_ENV = "RNNVIZ_OPEN"
DEFAULT_PORT = 8501
START_TIMEOUT_S = 180.0

EXAMPLES = """examples:
  rnnviz                           serve the app on http://localhost:8501
  rnnviz serve --port 8600 --address 0.0.0.0
                                   a classroom server on port 8600
  rnnviz open my_model.keras       open a .keras or .h5 file on the Your model page
  rnnviz open runs/exp1            open a run recorded by rnnviz.callbacks.RecordStates
  rnnviz open runs/exp1 --no-browser --port 8700
                                   print the URL instead of opening a browser
"""


class CommandError(Exception):
    """A mistake in the command line or its environment: printed as one line."""


def app_script() -> Path:
    """The app's main script: packaged in the wheel (rnnviz/_app/app.py) or in a checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_app" / "app.py", package.parent / "app.py"):
        if candidate.is_file():
            return candidate
    raise CommandError("the app's files are missing from this installation; reinstall rnnviz")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("rnnviz")
    except PackageNotFoundError:
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="rnnviz",
        description="See what a Keras LSTM, GRU or SimpleRNN does with its state, with exact "
        "numbers: serve the app, or open your own model file or recorded training run in it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    main.add_argument("--version", action="version", version=f"rnnviz {version()}")
    commands = main.add_subparsers(dest="command", metavar="{serve,open}")

    def server_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--port", type=port_number, default=DEFAULT_PORT, help="default: %(default)s"
        )
        sub.add_argument(
            "--address",
            default="localhost",
            help="the address to listen on (default: %(default)s; 0.0.0.0 for everyone "
            "on the network)",
        )

    serve = commands.add_parser(
        "serve", help="serve the app (the default command)", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    server_options(serve)
    opener = commands.add_parser(
        "open",
        help="open a .keras/.h5 file or a recorded run on the Your model page",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    opener.add_argument("path", help="a .keras or .h5 file, or a folder RecordStates wrote")
    server_options(opener)
    opener.add_argument(
        "--no-browser", action="store_true", help="print the page's URL instead of opening it"
    )
    return main


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


def check_path(text: str) -> Path:
    """The path `open` was given, checked as the page will check it; CommandError if not."""
    from rnnviz.sources.recorded.store import RunRefused, check_folder
    from rnnviz.sources.usermodels.modelfile import (
        ModelRefused,
        check_bytes,
        check_size,
        max_model_bytes,
    )

    path = Path(text).expanduser().resolve()
    if not path.exists():
        raise CommandError(f"no such file or folder: {text}")
    if path.is_dir():
        try:
            check_folder(path)
        except RunRefused as refused:
            raise CommandError(f"{text}: {refused}") from None
        return path
    if path.suffix.lower() not in (".keras", ".h5"):
        raise CommandError(f"{text}: not a .keras or .h5 model file, nor a recorded run folder")
    limit = max_model_bytes()
    try:
        check_size(path.stat().st_size, limit)  # before reading a file that may be huge
        check_bytes(path.read_bytes(), limit)
    except ModelRefused as refused:
        raise CommandError(f"{text}: {refused}") from None
    return path


def check_port_free(address: str, port: int) -> None:
    host = "127.0.0.1" if address == "localhost" else address
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"port {port} is in use (another rnnviz, or another program): choose "
                    "another with --port"
                ) from None
            raise CommandError(f"cannot listen on {address}:{port}: {error.strerror}") from None


def server_command(address: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(app_script()),
        "--server.port", str(port), "--server.address", address,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        # An installed app's files do not change: no watcher on site-packages.
        "--server.fileWatcherType", "none",
    ]  # fmt: skip


def wait_until_healthy(
    process: subprocess.Popen, address: str, port: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    host = "127.0.0.1" if address in ("localhost", "0.0.0.0", "::", "") else address
    url = f"http://{host}:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(
                f"the server stopped while starting (exit status {process.returncode})"
            )
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise CommandError(f"the server did not answer within {timeout:.0f} s")


def serve(address: str, port: int, opened: Path | None = None, browser: bool = False) -> int:
    """Starts the app and waits for it; returns its exit status."""
    check_port_free(address, port)
    script = app_script()
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if opened is not None:
        env[OPEN_ENV] = str(opened)
    page = "yourmodel" if opened is not None else ""
    url = f"http://{'localhost' if address in ('0.0.0.0', '::') else address}:{port}/{page}"
    print(f"rnnviz: starting the app from {script.parent} (importing TensorFlow takes a few "
          "seconds)…", file=sys.stderr, flush=True)  # fmt: skip
    # The app's folder is the server's working directory: Streamlit reads its settings
    # (.streamlit/config.toml) from there. Paths were made absolute before.
    process = subprocess.Popen(server_command(address, port), cwd=script.parent, env=env)
    try:
        wait_until_healthy(process, address, port, START_TIMEOUT_S)
        if opened is not None:
            print(f"rnnviz: {opened.name} is open at {url}", flush=True)
        else:
            print(f"rnnviz: the app is at {url}", flush=True)
        if browser:
            webbrowser.open(url)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "open":
            path = check_path(args.path)
            return serve(args.address, args.port, path, browser=not args.no_browser)
        address = getattr(args, "address", "localhost")
        return serve(address, getattr(args, "port", DEFAULT_PORT))
    except CommandError as error:
        print(f"rnnviz: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
