"""Memory soak: does the server's memory stay bounded however many distinct runs it serves?

    python scripts/soak.py          (part of `make bench`)

Three measurements on a fresh server each (`streamlit run app.py`, RNNVIZ_CACHE_MB as
given, default 256), through Streamlit's websocket protocol like scripts/load_test.py:

1. one session makes 110 distinct valid runs, sizes varied up to the caps (hidden_size
   to 1024, num_steps to 2000, traces up to MAX_TRACE_VALUES): RSS growth after the
   first 10 (warm-up), goal <= 300 MB;
2. 24 sessions each open a share link near the caps: RSS growth, goal <= 300 MB;
3. the peak RSS of the 30-student load test is in scripts/load_test.py (goal <= 4 GB).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.load_test import CELLS, Server, Session, _rss_mb  # noqa: E402

MAX_TRACE_VALUES = 4_000_000  # rnnviz.config.MAX_TRACE_VALUES (not imported: no TensorFlow here)


def distinct_configs(count: int, seed: int = 0) -> list[dict[str, object]]:
    """`count` distinct valid configurations, from small to near the caps."""
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < count:
        hidden = rng.choice([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        steps = rng.choice([5, 20, 100, 500, 2000])
        batch = rng.choice([1, 2, 4, 8])
        batches = rng.choice([1, 2, 3])
        if batches * batch * steps * hidden > MAX_TRACE_VALUES:
            continue
        cfg = {"cell": rng.choice(CELLS), "hidden_size": hidden, "num_steps": steps,
               "batch_size": batch, "num_batches": batches}  # fmt: skip
        key = tuple(sorted(cfg.items()))
        if key not in seen:
            seen.add(key)
            out.append(cfg)
    return out


async def settled_rss(url: str, pid: int) -> float:
    """RSS once the last run's temporary arrays are gone: what the server keeps.

    A near-cap run allocates a few hundred MB while it runs (the trace, its figures and
    their JSON) and frees them when it ends; read at once, RSS would count them too.
    A small run and two quiet seconds let them go.
    """
    session = Session(url)
    await session.open("hidden_size=2&num_steps=5&num_batches=1")
    await session.close()
    await asyncio.sleep(2)
    return _rss_mb(pid, "VmRSS")


async def distinct_runs(url: str, count: int, warmup: int, pid: int) -> dict:
    session = Session(url)
    await session.open()
    errors, rss_after_warmup = [], None
    for i, cfg in enumerate(distinct_configs(count)):
        for key, value in cfg.items():
            answer = await session.change(key, value)
        errors += answer.errors
        if i + 1 == warmup:
            rss_after_warmup = await settled_rss(url, pid)
        print("." if not answer.errors else "E", end="", flush=True)
    await session.close()
    print()
    return {
        "errors": errors,
        "rss_after_warmup": rss_after_warmup,
        "end": await settled_rss(url, pid),
    }


def link_query(i: int) -> str:
    """A share link near the caps: 4M trace values, different per link."""
    hidden = [256, 512, 1024][i % 3]
    steps = MAX_TRACE_VALUES // (hidden * 2 * 2) - i
    cfg = {"cell": CELLS[i % 3], "hidden_size": hidden, "batch_size": 2, "num_batches": 2,
           "num_steps": min(steps, 2000), "seed": i}  # fmt: skip
    return urlencode(cfg)


async def open_links(url: str, count: int) -> list[str]:
    errors = []
    for i in range(count):
        session = Session(url)
        answer = await session.open(link_query(i))
        errors += answer.errors
        await session.close()
        print("." if not answer.errors else "E", end="", flush=True)
    print()
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=110)
    parser.add_argument("--links", type=int, default=24)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    failed = False
    with Server() as server:
        start = _rss_mb(server.proc.pid, "VmRSS")
        t0 = time.monotonic()
        result = asyncio.run(distinct_runs(server.url, args.runs, args.warmup, server.proc.pid))
        end = result["end"]
        growth = end - result["rss_after_warmup"]
        print(
            f"{args.runs} distinct runs in {time.monotonic() - t0:.0f} s: RSS {start:.0f} MB at"
            f" start, {result['rss_after_warmup']:.0f} MB after {args.warmup}, {end:.0f} MB at"
            f" the end: growth after warm-up {growth:.0f} MB (goal <= 300);"
            f" errors {len(result['errors'])}",
            flush=True,
        )
        failed |= growth > 300 or bool(result["errors"])
    with Server() as server:
        asyncio.run(open_links(server.url, 1))  # warm-up: TensorFlow and the first layer
        before = asyncio.run(settled_rss(server.url, server.proc.pid))
        errors = asyncio.run(open_links(server.url, args.links))
        end = asyncio.run(settled_rss(server.url, server.proc.pid))
        print(
            f"{args.links} share links near the caps: RSS {before:.0f} -> {end:.0f} MB, growth"
            f" {end - before:.0f} MB (goal <= 300), peak {_rss_mb(server.proc.pid):.0f} MB;"
            f" errors {len(errors)}",
            flush=True,
        )
        failed |= end - before > 300 or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
