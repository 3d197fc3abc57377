"""The Why and Text pages in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.test_browser import FIRST_CHART_TIMEOUT_MS, assert_no_exception, current_query, wait_idle
from tests.test_browser_train import chromium, new_page, train_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

QUESTIONS = [
    "How far back does it remember?",
    "What does this unit do?",
    "Where does the state go?",
    "Where else does this pattern occur?",
    "What changed?",
]


@pytest.fixture
def page(chromium, train_url):  # noqa: F811
    pg = new_page(chromium, train_url)
    yield pg
    pg.context.close()


def open_page(page, path: str) -> None:
    page.goto(path)
    page.wait_for_selector("[data-testid=stMain] h1", timeout=FIRST_CHART_TIMEOUT_MS)
    wait_idle(page)


def test_every_why_question_draws_a_figure_and_the_url_restores_it(page):
    open_page(page, "/why")
    sidebar = page.get_by_test_id("stSidebar")
    for question in QUESTIONS:
        sidebar.get_by_text(question, exact=True).click()
        expect(page.get_by_role("heading", name=question, level=1)).to_be_visible()
        wait_idle(page)
        if question != "Where else does this pattern occur?":
            page.wait_for_selector(".stPlotlyChart .js-plotly-plot")
        assert_no_exception(page)
    query = current_query(page)
    assert "question=What+changed" in query or "question=What%20changed" in query
    page.reload()
    expect(page.get_by_role("heading", name="What changed?", level=1)).to_be_visible(
        timeout=FIRST_CHART_TIMEOUT_MS
    )
    assert_no_exception(page)
