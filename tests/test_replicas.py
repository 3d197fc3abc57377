"""Two replicas behind Debian's nginx: sessions spread over both and stay on theirs."""

from __future__ import annotations

import http.cookiejar
import os
import shutil
import sys
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from serve import replicas

from scripts.browserkit import free_port


def _nginx() -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        message = "Debian's nginx is not installed (apt-get install -y nginx)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def balanced():
    _nginx()
    with replicas([free_port(), free_port()], free_port()) as url:
        yield url


def session():
    """A new browser-like client: its own cookie jar."""
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def replica_of(opener, url: str) -> str:
    with opener.open(url, timeout=10) as response:
        return response.headers["X-Rnnviz-Replica"]


def test_new_sessions_are_spread_over_both_replicas(balanced):
    seen = {replica_of(session(), balanced + "/") for _ in range(16)}
    assert len(seen) == 2


def test_a_session_stays_on_its_replica_for_every_later_request(balanced):
    for _ in range(4):
        opener = session()
        first = replica_of(opener, balanced + "/")
        for path in ("/", "/_stcore/health", "/train", "/_stcore/host-config", "/"):
            assert replica_of(opener, balanced + path) == first


@pytest.mark.browser
def test_a_browser_session_through_nginx_reruns_over_its_websocket(balanced):
    from playwright.sync_api import sync_playwright

    from scripts.browserkit import CHROMIUM_ARGS
    from tests.test_browser import (
        _chromium,
        assert_no_exception,
        heatmaps,
        set_number,
        wait_heatmaps,
        wait_idle,
    )

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(balanced + "/")
        page.wait_for_selector(".stPlotlyChart .js-plotly-plot")
        wait_idle(page)
        set_number(page, "hidden_size", 5)
        # Waits for both heatmaps: charts redraw one after the other, so "some
        # heatmap has 5 rows" can hold while h still shows the old 8 (CI saw it).
        wait_heatmaps(page, ["h", "c"], rows=5)
        wait_idle(page)
        assert heatmaps(page)["h"][0] == 5
        assert_no_exception(page)
        browser.close()
