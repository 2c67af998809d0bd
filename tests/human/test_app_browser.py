"""The annotation page in a real headless browser (Debian's chromium through Selenium and
/usr/bin/chromedriver; `.ci/run` installs them): keyboard only, the server SIGKILLed and
restarted with every answer kept and the queue resumed, and model output that tries HTML and
script shown as literal text with nothing run.

TUNECHECK_SCREENSHOT=docs/annotate.png also saves the page mid-annotation there (the README's)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.human.conftest import CliServer, call, write_preds
from tunecheck.human import AnswerStore
from tunecheck.judge import load_rubric
from tunecheck.judge._human import load_human

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(CHROMIUM is None or not Path(DRIVER).exists(),
                                reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)")

XSS = '<script>window.pwned=1</script>\n<img src=x onerror="window.pwned=1">\n<a href="javascript:window.pwned=1">x</a>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver: Any, check: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 15).until(lambda d: check(d), message=what)


def text(driver: Any, element_id: str) -> str:
    return str(driver.execute_script("return document.getElementById(arguments[0]).textContent", element_id))


def keys(driver: Any, *sequence: str) -> None:
    """Key presses to whatever has the focus, as a person types them (no clicks anywhere)."""
    from selenium.webdriver.common.action_chains import ActionChains

    for k in sequence:
        ActionChains(driver).send_keys(k).perform()


def saved(driver: Any, done: int, total: int) -> None:
    wait_for(driver, lambda d: text(d, "progress-text") == f"{done} / {total} done", f"progress {done} / {total}")


def at(driver: Any, n: int, total: int) -> None:
    wait_for(driver, lambda d: text(d, "position") == f"Item {n} of {total}", f"item {n}")


def outputs(driver: Any) -> dict[str, str]:
    """Label -> the output's text as the DOM holds it."""
    return dict(driver.execute_script(
        "return Array.from(document.querySelectorAll('#outputs .output')).map(s => [s.querySelector('h2').textContent, s.querySelector('pre').textContent])"))


PROMPTS = ["Write a Python function that reverses a string.", "What is the capital of Australia?"]
BASE = ["def reverse(s):\n    out = ''\n    for c in s:\n        out = c + out\n    return out",
        "The capital of Australia is Sydney."]
TUNED = ["```python\ndef reverse(s: str) -> str:\n    \"\"\"Return s backwards.\"\"\"\n    return s[::-1]\n```\n\nSlicing with a step of -1 walks the string from the end.",
         "Canberra. It was chosen in 1908 as a compromise between Sydney and Melbourne."]
MODEL_OF = {**{t: "base" for t in BASE}, **{t: "tuned" for t in TUNED}}


def test_rubric_keyboard_only_survives_a_killed_server(tmp_path: Path, browser: Any, cli_server: type[CliServer]) -> None:
    rows = [{"id": f"q{i}", "prompt": p, "reference": "Canberra" if i else None} for i, p in enumerate(PROMPTS)]
    files = [write_preds(tmp_path, "base", [{**r, "output": o} for r, o in zip(rows, BASE)]),
             write_preds(tmp_path, "tuned", [{**r, "output": o} for r, o in zip(rows, TUNED)])]
    store = tmp_path / "answers.sqlite"
    server = cli_server([*files, "--store", str(store)]).start()
    browser.get(server.url + "/")
    wait_for(browser, lambda d: "1-9" in text(d, "keys"), "the shortcuts shown")
    keys(browser, "ana", "\n")  # the name box has the focus; Enter starts
    at(browser, 1, 4)
    saved(browser, 0, 4)
    seen = []  # (id, model) of each unit, from the output text the page shows
    [out] = outputs(browser).values()
    seen.append((text(browser, "item-id")[3:], MODEL_OF[out]))
    keys(browser, "4", "3", "5", "2")  # each score moves the focus to the next criterion
    saved(browser, 1, 4)
    keys(browser, "n")
    at(browser, 2, 4)
    [out] = outputs(browser).values()
    seen.append((text(browser, "item-id")[3:], MODEL_OF[out]))
    keys(browser, "5", "\ue013", "1", "2", "3", "4")  # ArrowUp back to accuracy: 5 becomes 1, then the rest
    saved(browser, 2, 4)
    if os.environ.get("TUNECHECK_SCREENSHOT"):
        browser.get_screenshot_as_file(os.environ["TUNECHECK_SCREENSHOT"])
    keys(browser, "\n")  # Enter: next
    at(browser, 3, 4)
    [out] = outputs(browser).values()
    seen.append((text(browser, "item-id")[3:], MODEL_OF[out]))
    keys(browser, "\ue015", "\ue015", "2")  # ArrowDown twice: fluency only (a partial answer)
    wait_for(browser, lambda d: text(d, "status") == "Saved.", "the partial answer saved")
    server.kill()
    server.start()  # the same store, the same port
    browser.refresh()
    at(browser, 3, 4)  # resumed at the first unanswered unit (the partial one)
    saved(browser, 2, 4)
    assert "fluency (1-5): 2" in text(browser, "answer")
    keys(browser, "p")
    at(browser, 2, 4)
    assert "accuracy (1-5): 1" in text(browser, "answer") and "format (1-5): 4" in text(browser, "answer")
    status, csv_text, _ = call(server.url + "/api/export?format=csv")
    assert status == 200
    (tmp_path / "out.csv").write_text(csv_text)
    got = {(r.id, r.model, r.criterion): r.score for r in load_human(tmp_path / "out.csv", load_rubric("quality-5")).scores}
    criteria = ("accuracy", "relevance", "fluency", "format")
    assert got == {**{(*seen[0], c): v for c, v in zip(criteria, (4, 3, 5, 2))},
                   **{(*seen[1], c): v for c, v in zip(criteria, (1, 2, 3, 4))},
                   (*seen[2], "fluency"): 2}
    server.kill()
    with AnswerStore(store) as answers:  # the change on unit 2 is on record
        assert [h[4]["scores"].get("accuracy") for h in answers.history() if (h[1], h[3]) == seen[1]][:2] == [5, 1]


def test_ab_keyboard_only_and_untrusted_text_stays_text(tmp_path: Path, browser: Any, cli_server: type[CliServer]) -> None:
    rows = [{"id": "x1", "prompt": XSS, "reference": XSS}, {"id": "x2", "prompt": "plain"}, {"id": "x3", "prompt": "plain too"}]
    files = [write_preds(tmp_path, "base", [{**r, "output": f"base {r['id']}"} for r in rows]),
             write_preds(tmp_path, "tuned", [{**r, "output": XSS if r["id"] == "x1" else f"tuned {r['id']}"} for r in rows])]
    server = cli_server([*files, "--task", "ab", "--store", str(tmp_path / "ab.sqlite")]).start()
    browser.get(server.url + "/")
    wait_for(browser, lambda d: "tie" in text(d, "keys"), "the shortcuts shown")
    browser.execute_script("localStorage.clear(); history.replaceState(null, '', '/')")
    browser.refresh()
    wait_for(browser, lambda d: "tie" in text(d, "keys"), "the page again")
    keys(browser, "bo", "\n")
    at(browser, 1, 3)
    shown = outputs(browser)
    assert sorted(shown.values()) == sorted([XSS, "base x1"])  # the markup, character for character
    assert text(browser, "prompt") == XSS and text(browser, "reference") == XSS
    assert browser.find_elements("css selector", "main img, main script, main a") == []
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    winners = {}
    for n, (key, choice) in enumerate((("a", "A"), ("t", "tie"), ("b", "B")), start=1):
        at(browser, n, 3)
        side = {k: ("tuned" if v == XSS or v.startswith("tuned") else "base") for k, v in outputs(browser).items()}
        winners[text(browser, "item-id")[3:]] = "tie" if choice == "tie" else side[choice]
        keys(browser, key)
        saved(browser, n, 3)
        keys(browser, "n")
    assert "last item" in text(browser, "status")
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    _, rows_out, _ = call(server.url + "/api/export?format=json")
    (tmp_path / "ab.json").write_text(json.dumps(rows_out))
    assert {c.id: c.winner or "tie" for c in load_human(tmp_path / "ab.json").choices} == winners
