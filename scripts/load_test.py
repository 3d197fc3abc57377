"""A classroom on one server: N simulated students speaking Streamlit's websocket protocol.

    python scripts/load_test.py --sessions 1,8,30 --seconds 60     (make load-test)

For each N the script starts a fresh server (`streamlit run app.py`, as `make run` does),
warms it with one session, then lets N sessions work in a closed loop: each changes one
sidebar control of the Explore page, waits until the server has sent the whole rerun
(the `script_finished` message: every chart is on the wire), checks the answer, thinks
1-3 s and changes the next one. Each session is a real Streamlit session: the same
`BackMsg`/`ForwardMsg` protobufs over `/_stcore/stream` that the browser speaks, with its
own widget state. Reported per N: changes, errors, p50/p95/max latency, p95 over the p95
of one student, the server's CPU seconds per change and its peak RSS.

An answer counts as an error when the run raised (an exception element or `st.error`),
did not finish, took over a minute, or its h_t heatmap does not have `hidden_size` rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.browserkit import free_port, is_healthy, streamlit_command  # noqa: E402

TIMEOUT_S = 60.0
SIDEBAR = 1  # ForwardMsg delta_path[0]: 0 is the main area, 1 the sidebar
SIGNALS = ["sine", "zeros", "ones", "random", "step", "impulse", "ramp"]
VIEWS = ["States over time", "Gates", "What Keras returns", "State across batches"]
VIEWS += ["Step inspector", "Keras code"]
CELLS = ["LSTM", "GRU", "SimpleRNN"]


@dataclass
class Answer:
    """What the server sent for one run of the script."""

    seconds: float
    status: int | None = None  # ForwardMsg.ScriptFinishedStatus, None if it never came
    errors: list[str] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)  # widget key -> Plotly JSON spec
    widgets: dict[str, str] = field(default_factory=dict)  # user key -> widget id

    def heatmap_rows(self, chart: str, name: str) -> int | None:
        """Rows of the heatmap trace called `name` in a chart, None if absent."""
        spec = self.charts.get(chart)
        if spec is None:
            return None
        for trace in json.loads(spec).get("data", []):
            if trace.get("type") == "heatmap" and trace.get("name") == name:
                z = trace["z"]  # Plotly sends numpy arrays as {"dtype", "bdata", "shape"}
                return int(str(z["shape"]).split(",")[0]) if isinstance(z, dict) else len(z)
        return None


def _user_key(widget_id: str) -> str:
    """`$$ID-<hash>-hidden_size` -> `hidden_size` (Streamlit's id for a keyed widget)."""
    return widget_id.split("-", 2)[2] if widget_id.startswith("$$ID-") else widget_id


class Session:
    """One browser tab, simulated: a websocket to `/_stcore/stream` and its widget values."""

    def __init__(self, base_url: str):
        self.url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = None
        self.ids: dict[str, str] = {}  # user key -> widget id
        self.values: dict[str, tuple[str, object]] = {}  # widget id -> (proto field, value)

    async def open(self, query: str = "") -> Answer:
        import websockets

        self.ws = await websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, open_timeout=TIMEOUT_S
        )
        return await self._rerun(query)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def change(self, key: str, value: object) -> Answer:
        """Sets one widget as a user would, and returns the rerun it causes."""
        kind = {bool: "bool_value", int: "double_value", float: "double_value", str: "string_value"}
        self.values[self.ids[key]] = (kind[type(value)], value)
        return await self._rerun("")

    async def _rerun(self, query: str) -> Answer:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_script_hash = ""
        for widget_id, (kind, value) in self.values.items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = widget_id
            setattr(state, kind, value)
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        try:
            answer = await asyncio.wait_for(self._read(), TIMEOUT_S)
        except TimeoutError:
            answer = Answer(TIMEOUT_S, errors=[f"no answer within {TIMEOUT_S:.0f} s"])
        answer.seconds = time.perf_counter() - start
        self.ids.update(answer.widgets)
        return answer

    async def _read(self) -> Answer:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        answer = Answer(0.0)
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self.ws.recv())
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                answer.status = msg.script_finished
                if answer.status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # a newer run follows on the same socket
                return answer
            if kind != "delta" or msg.delta.WhichOneof("type") != "new_element":
                continue
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            if etype == "exception":
                answer.errors.append(f"exception: {element.exception.message}")
            elif (
                etype == "alert"
                and element.alert.format == element.alert.ERROR
                and list(msg.metadata.delta_path[:1]) == [SIDEBAR]
            ):  # the sidebar's refusal of a configuration (the views use st.error for facts)
                answer.errors.append(f"st.error: {element.alert.body}")
            body = getattr(element, etype)
            widget_id = getattr(body, "id", "")
            if widget_id:
                answer.widgets[_user_key(widget_id)] = widget_id
                if etype == "plotly_chart":
                    answer.charts[_user_key(widget_id)] = body.spec


def random_change(rng: random.Random, state: dict[str, object], mix: str) -> tuple[str, object]:
    """What a student does next: one control of the Explore page, within the app's limits.

    "lesson": the teacher's lesson, where students pick hidden_size from the sizes the
    lesson uses (2, 4, 8, 16), so the class shares 48 layer structures. "random":
    hidden_size anywhere in 1..16 (384 structures), the worst case for the caches.
    Every other control is drawn alike in both: each change is one control, chosen
    uniformly among the sidebar controls and the view.

    "explore" (issue 20): a class exploring freely, where almost every change is a layer
    structure the server has not seen: hidden_size anywhere in 4..32, num_steps in 5..50,
    the cell, stateful, return_sequences, the signal and the seed.
    """
    if mix == "explore":
        key = rng.choice(["hidden_size", "num_steps", "cell", "stateful", "return_sequences",
                          "signal", "seed"])  # fmt: skip
        value: object = {
            "hidden_size": lambda: rng.randint(4, 32),
            "num_steps": lambda: rng.randint(5, 50),
            "cell": lambda: rng.choice(CELLS),
            "signal": lambda: rng.choice(SIGNALS),
            "seed": lambda: rng.randint(0, 999),
        }.get(key, lambda: not state.get(key, key == "return_sequences"))()
        state[key] = value
        return key, value
    key = rng.choice(
        [
            *("hidden_size", "num_steps", "batch_size", "seed", "signal", "initial_state"),
            *("cell", "return_sequences", "return_state", "view"),
        ]
    )
    if key == "hidden_size":
        value = rng.choice([2, 4, 8, 16]) if mix == "lesson" else rng.randint(1, 16)
    elif key == "num_steps":
        value = rng.randint(2, 20)
    elif key == "batch_size":
        value = rng.randint(1, 6)
    elif key == "seed":
        value = rng.randint(0, 999)
    elif key == "signal":
        value = rng.choice(SIGNALS)
    elif key == "initial_state":
        value = rng.choice(["zeros", "random"])
    elif key == "cell":
        value = rng.choice(CELLS)
    elif key == "view":
        value = rng.choice(VIEWS)
    else:
        value = not state.get(key, True)
    state[key] = value
    return key, value


def check(answer: Answer, state: dict[str, object]) -> list[str]:
    problems = list(answer.errors)
    if answer.status is None:
        problems.append("the run never finished")
    elif answer.status != 0:
        problems.append(f"the run finished with status {answer.status}")
    if state.get("view", VIEWS[0]) == VIEWS[0]:
        rows = answer.heatmap_rows("fig_states", "h")
        if rows != state["hidden_size"]:
            problems.append(f"h heatmap has {rows} rows, not hidden_size={state['hidden_size']}")
    return problems


async def student(
    base_url: str, seed: int, until: float, think: tuple[float, float], mix: str, out: dict
):
    rng = random.Random(seed)
    session = Session(base_url)
    await asyncio.sleep(rng.uniform(*think))  # students do not all arrive in the same second
    first = await session.open()
    state: dict[str, object] = {"hidden_size": 8}
    out["errors"].extend(check(first, state))
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(*think))
        key, value = random_change(rng, state, mix)
        answer = await session.change(key, value)
        out["latencies"].append(answer.seconds)
        out["errors"].extend(f"{key}={value}: {p}" for p in check(answer, state))
    await session.close()


def _stat(path: Path) -> tuple[str, float]:
    """(name, user + system CPU seconds) of a process or thread's /proc stat file."""
    name, rest = path.read_text().split("(", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    return _stat(Path(f"/proc/{pid}/stat"))[1]


def _background_cpu_seconds(pid: int) -> float:
    """CPU of the engine cache's background threads (XLA compiles, flag-sibling builds)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, seconds = _stat(task / "stat")
        except OSError:
            continue  # the thread ended meanwhile
        if name.startswith("rnnviz-warm"):
            total += seconds
    return total


def _rss_mb(pid: int, field_name: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """`streamlit run app.py` on a free port, as `make run` serves it."""

    def __init__(self, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            streamlit_command("app.py", self.port),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not is_healthy(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Streamlit server did not start")
            time.sleep(0.2)
        urllib.request.urlopen(self.url + "/", timeout=10).read()
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def warm_up(base_url: str) -> None:
    """One session loads TensorFlow and builds the default layer, as the teacher's tab does."""
    session = Session(base_url)
    await session.open()
    for key, value in [("hidden_size", 4), ("hidden_size", 8), ("seed", 1)]:
        await session.change(key, value)
    await session.close()


def wait_idle(pid: int, timeout: float = 120.0, window: float = 2.0) -> float:
    """Waits until the server has used under 5 % of a core for `window` seconds (or
    `timeout`); returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = _cpu_seconds(pid)
        time.sleep(window)
        if _cpu_seconds(pid) - before < 0.05 * window:
            break
    return time.monotonic() - start


def run_load(
    sessions: int,
    seconds: float,
    think: tuple[float, float],
    seed: int = 0,
    profile: Path | None = None,
    mix: str = "lesson",
) -> dict:
    """Serves a fresh server to `sessions` students for `seconds`; returns the figures.

    With `profile`, py-spy samples the server for the measured time and writes collapsed
    stacks there (one line per stack with its sample count: grep it, or feed it to
    flamegraph.pl / speedscope).
    """
    with Server() as server:
        asyncio.run(warm_up(server.url))
        # A class meets a server that has been up a while: the warm-up's background work
        # (XLA compiles, the polymorphic graphs of every cell and flags) is let finish.
        settled = wait_idle(server.proc.pid)
        spy = None
        if profile is not None:
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                 str(server.proc.pid), "--format", "raw", "--output", str(profile),
                 "--duration", str(int(seconds)), "--rate", "50", "--threads", "--nonblocking"],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        out: dict = {"latencies": [], "errors": []}
        pid = server.proc.pid
        cpu0, bg0, t0 = _cpu_seconds(pid), _background_cpu_seconds(pid), time.monotonic()
        until = t0 + seconds

        async def classroom():
            seeds = [seed * 1000 + i for i in range(sessions)]
            await asyncio.gather(*(student(server.url, s, until, think, mix, out) for s in seeds))

        asyncio.run(classroom())
        cpu = _cpu_seconds(pid) - cpu0
        background = _background_cpu_seconds(pid) - bg0
        wall = time.monotonic() - t0
        peak = _rss_mb(server.proc.pid)
        if spy is not None:
            spy.wait(60)
    lat = sorted(out["latencies"])
    return {
        "sessions": sessions,
        "mix": mix,
        "changes": len(lat),
        "errors": len(out["errors"]),
        "error_examples": out["errors"][:5],
        "p50_s": statistics.median(lat) if lat else float("nan"),
        "p95_s": lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan"),
        "max_s": lat[-1] if lat else float("nan"),
        "cpu_per_change_s": cpu / max(len(lat), 1),
        "background_cpu_per_change_s": background / max(len(lat), 1),
        "cpu_cores_used": cpu / wall,
        "peak_rss_mb": peak,
        "settle_s": settled,
    }


def animation_frames(answer: Answer) -> int | None:
    """Frames of the States animation the server sent, None if it sent none."""
    spec = answer.charts.get("fig_states_play")
    return None if spec is None else len(json.loads(spec).get("frames", []))


async def press_play(base_url: str, seed: int, out: dict) -> Session:
    """A student opens Explore with Animate on ("press play": the frames come once)."""
    session = Session(base_url)
    answer = await session.open("play=true")
    out["latencies"].append(answer.seconds)
    frames = animation_frames(answer)
    if answer.errors or frames != 15:
        out["errors"].append(f"student {seed}: {answer.errors or f'{frames} frames, not 15'}")
    return session


def run_play(sessions: int, watch: float) -> dict:
    """The "press play" load (issue 22): `sessions` students open the animation at once
    (the server computes and sends its frames), then watch it play for `watch` seconds.
    A browser plays the frames by itself (tests/test_browser_play.py counts 0 websocket
    messages), so the server's CPU while they watch is compared with the same server idle
    for as long, before anyone came."""
    with Server() as server:
        asyncio.run(warm_up(server.url))
        wait_idle(server.proc.pid)
        pid = server.proc.pid
        cpu0 = _cpu_seconds(pid)
        time.sleep(watch)
        idle = _cpu_seconds(pid) - cpu0
        out: dict = {"latencies": [], "errors": []}

        async def classroom():
            t0 = time.monotonic()
            opened = await asyncio.gather(*(press_play(server.url, s, out)
                                            for s in range(sessions)))  # fmt: skip
            sent = time.monotonic() - t0
            await asyncio.sleep(1.0)  # the last answers' tails
            cpu1 = _cpu_seconds(pid)
            await asyncio.sleep(watch)  # every student watches; a browser sends nothing
            playing = _cpu_seconds(pid) - cpu1
            for session in opened:
                await session.close()
            return sent, playing

        sent, playing = asyncio.run(classroom())
    lat = sorted(out["latencies"])
    return {
        "sessions": sessions,
        "errors": len(out["errors"]),
        "error_examples": out["errors"][:5],
        "sent_all_s": sent,
        "p95_s": lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan"),
        "watch_s": watch,
        "cpu_while_playing_s": playing,
        "cpu_idle_s": idle,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,8,30", help="comma-separated N values")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per N")
    parser.add_argument("--think", default="1,3", help="think time range in seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mix", default="lesson,explore",
        help="comma-separated workloads: lesson, random, explore (each run in turn)",
    )  # fmt: skip
    parser.add_argument(
        "--play", type=float, default=0.0, metavar="SECONDS",
        help="also: N students press play at once, then watch for SECONDS (issue 22)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--profile", type=Path, help="py-spy the server; collapsed stacks to PROFILE.N<n>.txt"
    )
    args = parser.parse_args()
    think = tuple(float(v) for v in args.think.split(","))
    mixes = args.mix.split(",")
    unknown = set(mixes) - {"lesson", "random", "explore"}
    if unknown:
        asked = ",".join(sorted(unknown))
        parser.error(f"--mix {asked}: the workloads are lesson, random, explore")
    results = []
    print(
        f"{'mix':>7} {'N':>3} {'changes':>7} {'errors':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"
        f" {'p95/N=1':>8} {'CPU s/change':>12} {'of it bg':>8} {'cores':>5} {'peak RSS MB':>11}",
        flush=True,
    )
    for mix, n in ((m, int(v)) for m in mixes for v in args.sessions.split(",")):
        profile = args.profile.with_suffix(f".{mix}.N{n}.txt") if args.profile else None
        r = run_load(n, args.seconds, think, args.seed, profile, mix)
        ones = [x for x in results if x["mix"] == mix and x["sessions"] == 1]
        base = ones[0]["p95_s"] if ones else r["p95_s"]
        r["p95_ratio_to_1"] = r["p95_s"] / base
        results.append(r)
        print(
            f"{mix:>7} {n:>3} {r['changes']:>7} {r['errors']:>6} {r['p50_s']:>7.3f}"
            f" {r['p95_s']:>7.3f}"
            f" {r['max_s']:>7.3f} {r['p95_ratio_to_1']:>8.2f} {r['cpu_per_change_s']:>12.3f}"
            f" {r['background_cpu_per_change_s']:>8.3f}"
            f" {r['cpu_cores_used']:>5.2f} {r['peak_rss_mb']:>11.0f}",
            flush=True,
        )
        for example in r["error_examples"]:
            print(f"      error: {example}", flush=True)
    if args.play:
        print(f"\n{'play':>7} {'N':>3} {'errors':>6} {'frames sent to all':>18} {'p95 s':>7}"
              f" {'server CPU s while they watch':>29} {'idle server':>11}",
              flush=True)  # fmt: skip
        for n in (int(v) for v in args.sessions.split(",")):
            r = run_play(n, args.play)
            r["mix"] = "play"
            results.append(r)
            print(f"{'play':>7} {n:>3} {r['errors']:>6} {r['sent_all_s']:>16.2f} s"
                  f" {r['p95_s']:>7.3f} {r['cpu_while_playing_s']:>25.2f} ({r['watch_s']:.0f} s)"
                  f" {r['cpu_idle_s']:>11.2f}", flush=True)  # fmt: skip
            for example in r["error_examples"]:
                print(f"      error: {example}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
