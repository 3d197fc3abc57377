"""The `rnnviz` command's arguments and errors: one clear line and a non-zero exit status.

The command's server itself is started by tests/test_package.py, from an installed wheel.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from rnnviz import cli
from rnnviz.sources.usermodels.examples import example_models


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's own errors and --help / --version
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_version_prints_the_installed_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"rnnviz {cli.version()}"
    assert cli.version().count(".") == 2


def test_help_shows_examples_of_serve_and_open(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    assert "rnnviz open runs/exp1" in out and "rnnviz serve --port 8600" in out


def test_open_a_missing_path_is_one_line_and_status_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "open", str(tmp_path / "nothing.keras"), "--no-browser")
    assert code == 2
    assert err == f"rnnviz: no such file or folder: {tmp_path / 'nothing.keras'}\n"


def test_open_a_folder_that_is_not_a_run_says_so(capsys, tmp_path):
    code, _, err = run_cli(capsys, "open", str(tmp_path), "--no-browser")
    assert code == 2 and err.count("\n") == 1
    assert "not a recorded run: it has no manifest.json" in err


def test_open_a_file_that_is_not_a_model_says_so(capsys, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    code, _, err = run_cli(capsys, "open", str(path), "--no-browser")
    assert code == 2 and "not a .keras or .h5 model file" in err


def test_open_a_fake_keras_file_is_refused_before_any_server_starts(capsys, tmp_path):
    path = tmp_path / "fake.keras"
    path.write_bytes(b"not a zip")
    code, _, err = run_cli(capsys, "open", str(path), "--no-browser")
    assert code == 2 and "neither a Keras archive" in err


def test_a_port_in_use_is_named_and_nothing_starts(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        model = next(iter(example_models().values()))
        code, _, err = run_cli(capsys, "open", str(model), "--port", str(port), "--no-browser")
    assert code == 2
    assert err == (
        f"rnnviz: port {port} is in use (another rnnviz, or another program): choose another "
        "with --port\n"
    )


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_port_outside_1_to_65535_is_refused_by_the_parser(capsys, port):
    code, _, err = run_cli(capsys, "serve", "--port", port)
    assert code == 2 and "port" in err.splitlines()[-1]


def test_python_dash_m_rnnviz_is_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "rnnviz", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("rnnviz ")


def test_the_server_command_is_streamlit_on_the_apps_script_headless():
    command = cli.server_command("0.0.0.0", 8600)
    assert command[1:4] == ["-m", "streamlit", "run"]
    assert command[4].endswith("app.py")
    assert command[command.index("--server.port") + 1] == "8600"
    assert command[command.index("--server.address") + 1] == "0.0.0.0"
    assert command[command.index("--server.headless") + 1] == "true"
