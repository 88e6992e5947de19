"""The HTML report in a real headless browser (Playwright driving Debian's chromium).

It must load without console errors or any network request, its numbers must match the JSON it
was made from, and the search, verdict filter, "only changed" filter and pager must work.
Without playwright or chromium the test skips with the reason; in CI (REACHCHECK_LAB_REQUIRED=1,
set by .ci/run as root) a missing browser is a failure instead.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reachcheck.cli import cli
from reachcheck.model import Anomaly, Vantage
from reachcheck.output import JsonWriter, load_run
from tests.output.samples import make_result

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = '<img src=x onerror=alert(1)></script><script>alert(2)</script>'
N_SITES = 250  # more than one page of rows (100)


def _unavailable(reason: str) -> None:
    if os.environ.get("REACHCHECK_LAB_REQUIRED") == "1":
        pytest.fail(f"headless browser test cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    executable = (os.environ.get("REACHCHECK_CHROMIUM") or shutil.which("chromium")
                  or shutil.which("chromium-browser") or "/usr/bin/chromium")
    if not os.path.exists(executable):
        _unavailable(f"no chromium browser at {executable} (apt-get install chromium, or set "
                     "REACHCHECK_CHROMIUM)")
    with sync_playwright() as pw:
        try:
            launched = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as exc:
            _unavailable(f"chromium does not start: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


def _verdict(i: int, run: int) -> str:
    if i % 10 == 0:  # blocked from the second run on
        return "accessible" if run == 1 else "dns_blocked"
    if i % 10 == 1:
        return "tls_blocked"
    if i % 10 == 2:
        return "inconclusive" if run == 1 else "accessible"
    return "accessible"


def _runs(tmp_path: Path) -> list[str]:
    paths = []
    for run in (1, 2):
        path = tmp_path / f"run{run}.json"
        with JsonWriter(str(path), {}, started_at=f"2026-03-0{run}T10:00:00.000Z") as writer:
            for i in range(N_SITES):
                result = make_result(f"site-{i}.test", _verdict(i, run))
                if i == 1:
                    result = dataclasses.replace(result, anomalies=(Anomaly(
                        stage="http", kind="http.blockpage", detail=HOSTILE),))
                writer.write(dataclasses.replace(
                    result, run_id=f"run-{run}", measured_at=f"2026-03-0{run}T10:00:01.000Z",
                    vantage=Vantage(label="lab")))
            writer.close({})
        paths.append(str(path))
    return paths


def test_report_in_a_headless_browser(browser: Any, tmp_path: Path) -> None:
    paths = _runs(tmp_path)
    page_path = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", *paths, "--format", "html", "-o",
                                      str(page_path)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    latest = load_run(paths[1])[1]
    first = {r.target: r.verdict for r in load_run(paths[0])[1]}
    counts = Counter(r.verdict for r in latest)
    changed = sum(1 for r in latest if first[r.target] != r.verdict)

    page = browser.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri())
    from playwright.sync_api import Error

    try:
        page.wait_for_selector("#site-rows tr", timeout=10_000)
    except Error:
        pass  # the assertions below say why the rows never came
    assert problems == []
    assert requests == [page_path.as_uri()]  # nothing else fetched
    for verdict in ("accessible", "dns_blocked", "tls_blocked", "inconclusive"):
        assert int(page.inner_text(f"#count-{verdict}")) == counts[verdict]
    assert int(page.inner_text("#count-total")) == N_SITES
    assert int(page.inner_text("#shown-count")) == N_SITES
    assert page.locator("#site-rows tr").count() == 100  # one page
    assert page.locator("#changes tbody tr").count() == changed

    page.select_option("#verdict-filter", "dns_blocked")
    assert int(page.inner_text("#shown-count")) == counts["dns_blocked"]
    shown = page.locator("#site-rows tr td:nth-child(2)").all_inner_texts()
    assert shown == ["dns_blocked"] * counts["dns_blocked"]
    page.select_option("#verdict-filter", "")

    page.fill("#site-filter", "site-24")  # site-24, site-240 ... site-249
    expected = sum(1 for r in latest if "site-24" in r.target)
    assert int(page.inner_text("#shown-count")) == expected == 11
    page.fill("#site-filter", "")

    page.check("#changed-filter")
    assert int(page.inner_text("#shown-count")) == changed
    page.uncheck("#changed-filter")

    page.click("#next-page")
    assert page.inner_text("#page-info").strip() == "page 2 of 3"
    assert page.locator("#site-rows tr").count() == 100

    # hostile evidence is shown as text and runs nothing
    page.fill("#site-filter", "site-1.test")
    page.click("#site-rows details summary")
    assert HOSTILE in page.inner_text("#site-rows details")
    assert page.locator("#site-rows img").count() == 0
    assert problems == []
    page.close()
