"""The published site in a real browser: Chromium, driven by Playwright, opens it from
file:// with the network cut off (nbody_bench.browser). Under CI the browser must be
there (./dev test installs Debian's chromium); elsewhere its absence is a skip."""

import json
import re
from collections import Counter

import pytest

from nbody_bench import publish, synthetic
from nbody_bench.browser import BrowserUnavailable, Page, browser
from nbody_bench.required import under_ci

STEP_AT = 24
RUNS = 40


@pytest.fixture(scope="module")
def chromium():
    try:
        with browser() as launched:
            yield launched
    except BrowserUnavailable as exc:
        if under_ci():
            pytest.fail(f"CI=true: the dashboard's browser test must run here: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two machines: numba 1.2x slower from commit STEP_AT on one, the other flat."""
    root = tmp_path_factory.mktemp("publish")
    stepped = synthetic.history(runs=RUNS, benchmarks=30, seed=7, step_at=STEP_AT)
    flat = synthetic.history(runs=RUNS, benchmarks=30, seed=8)
    for run in flat:
        run["machine_info"]["cpu"].update(vendor_id_raw="GenuineIntel", family=6, model=143)
    synthetic.write(stepped, root / "runs" / "amd")
    synthetic.write(flat[::2], root / "runs" / "intel")  # every other commit
    publish.publish([root / "runs"], root / "site")
    return root / "site", stepped, flat[::2]


def expected_points(runs):
    """{(workload, backend): points} of one machine, counted from its runs."""
    return Counter(
        (e["extra_info"]["workload"], e["extra_info"]["backend"])
        for run in runs
        for e in run["benchmarks"]
    )


def open_page(chromium, site, name):
    page = Page(chromium, site / name)
    yield page
    assert page.errors == [], f"{name}: console errors"
    page.close()


@pytest.fixture
def graphs(chromium, site):
    yield from open_page(chromium, site[0], "graphs.html")


def test_every_page_opens_offline_without_console_errors(chromium, site):
    for path in sorted(site[0].glob("*.html")):
        page = Page(chromium, path)
        assert page.page.locator("h1").inner_text()
        if path.name == "graphs.html":
            page.draw_all()  # a graph is drawn as it scrolls into view: draw them all
        assert page.errors == [], f"{path.name}: {page.errors}"
        page.close()


def test_each_graph_has_the_points_its_series_hold(graphs, site):
    _, stepped, flat = site
    expected = {
        **{(w, f"{b} · amd-f25-m17-avx512-2cpu-native"): n
           for (w, b), n in expected_points(stepped).items()},
        **{(w, f"{b} · intel-f6-m143-avx512-2cpu-native"): n
           for (w, b), n in expected_points(flat).items()},
    }  # fmt: skip
    drawn = {}
    for workload in sorted({w for w, _ in expected}):
        graphs.page.evaluate(f"window.nbodyBench.draw({json.dumps(workload)})")
        traces = graphs.page.evaluate(
            f"document.getElementById('graph-w-{workload}').data"
            ".map(t => [t.name, t.x.length, t.y.filter(Number.isFinite).length])"
        )
        for name, xs, ys in traces:
            drawn[workload, name] = xs
            assert ys == xs, f"{workload} {name}: {ys} of {xs} points have a value"
    assert drawn == expected


def test_switching_the_metric_redraws_the_graph(graphs, site):
    _, stepped, _ = site
    workload = "derivative-n50"
    first = {e["extra_info"]["backend"]: e["stats"]["min"] for e in stepped[0]["benchmarks"]
             if e["extra_info"]["workload"] == workload}  # fmt: skip
    graph = f"#graph-w-{workload}"
    graphs.page.locator(graph).scroll_into_view_if_needed()
    graphs.page.wait_for_selector(f"{graph}[data-drawn] .main-svg")
    numba = (
        f"document.querySelector('{graph}').data.find(t => t.name.startsWith('numba · amd')).y[0]"
    )
    title = f"document.querySelector('{graph}').layout.yaxis.title.text"
    assert graphs.page.evaluate(numba) == pytest.approx(first["numba"])
    graphs.page.locator(f"{graph} .updatemenu-button").filter(has_text="speedup").click()
    graphs.page.wait_for_function(f"{title}.startsWith('speedup')")
    assert graphs.page.evaluate(numba) == pytest.approx(first["python"] / first["numba"])
    graphs.page.locator(f"{graph} .updatemenu-button").filter(has_text="time").click()
    graphs.page.wait_for_function(f"!{title}.startsWith('speedup')")
    assert graphs.page.evaluate(numba) == pytest.approx(first["numba"])


def test_the_regressions_page_lists_the_planted_step_and_nothing_on_the_flat_machine(
    chromium, site
):
    page = Page(chromium, site[0] / "regressions.html")
    rows = page.page.locator("#slower + table tbody tr").all_inner_texts()
    assert rows, "no slower step listed"
    for row in rows:
        assert "amd-f25-m17" in row
        assert "\tnumba\t" in row
        # "SINCE (date) .. AT (date)": the last commit at the old level, the first at the
        # new; the synthetic commits count up in hex, so the planted one lies in (SINCE, AT].
        since, at = re.search(r"(\w{7}) \(\S+\) \.\. (\w{7}) \(", row).groups()
        assert int(since, 16) < int(synthetic.commit_id(STEP_AT)[:7], 16) <= int(at, 16), row
    workloads = {e["extra_info"]["workload"] for e in site[1][0]["benchmarks"]}
    assert len(rows) == len(workloads)  # numba's step, at every N
    assert page.page.locator("#faster + p").inner_text() == "None."
    assert page.errors == []
    page.close()


def test_the_index_lists_both_machines_and_links_every_graph(chromium, site):
    page = Page(chromium, site[0] / "index.html")
    machines = page.page.locator("#machines + table tbody tr").all_inner_texts()
    assert [m.split("\t")[0] for m in machines] == [
        "amd-f25-m17-avx512-2cpu-native",
        "intel-f6-m143-avx512-2cpu-native",
    ]
    links = page.page.locator('a[href^="graphs.html#"]').count()
    assert links == len({e["extra_info"]["workload"] for e in site[1][0]["benchmarks"]})
    page.close()
