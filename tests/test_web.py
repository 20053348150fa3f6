"""The calculator page (政策计算器), in a real headless browser: Debian's Chromium through Playwright.

The browser is ``/usr/bin/chromium`` (or ``$POLICY_KB_CHROMIUM``); ``.ci/run`` installs Debian's
``chromium`` when it is missing, so these tests fail rather than skip without one. Every test runs
with a page that records console errors, uncaught exceptions, dialogs and every request: after the
test, none of the first three may have happened and every request must have gone to the server.
Screenshots of full answers are written to ``tests/artifacts/`` (or ``$POLICY_KB_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import ROOT, serving

EXAMPLES = ROOT / "examples"
ARTIFACTS = Path(os.environ.get("POLICY_KB_ARTIFACTS", ROOT / "tests" / "artifacts"))
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium() -> str:
    found = os.environ.get("POLICY_KB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(found).exists(), (
        "the browser tests need Chromium: install Debian's 'chromium' (.ci/run does it in CI)"
    )
    return found


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))


def fragment(profile: dict[str, Any], **extra: str) -> str:
    """The URL fragment the page keeps a profile in."""
    cells = {k: ("1" if v is True else "0" if v is False else str(v)) for k, v in profile.items()}
    return "#" + urllib.parse.urlencode({**extra, **cells})


def api_statuses(base: str, profile: dict[str, Any], lang: str = "zh") -> dict[str, str]:
    answer = httpx.post(f"{base}/v1/evaluate", params={"lang": lang}, json=profile, timeout=30)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    statuses = {m["id"]: m["status"] for m in data["measures"]}
    statuses |= {b["id"]: b["status"] for m in data["measures"] for b in m["benefits"]}
    pre = data["tech_sme_precheck"]["qualifies"]
    statuses["precheck"] = {True: "applies", False: "does_not_apply", None: "undetermined"}[pre]
    return statuses


# ── the browser and the server ───────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving() as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=chromium(), headless=True, args=["--no-sandbox"]
        )
        yield instance
        instance.close()


class Watched:
    """A page with what went wrong on it: console errors, exceptions, dialogs, foreign requests."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: str = "/") -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("#answer[data-state=ready]", timeout=20_000)
        return self.page

    def foreign(self) -> list[str]:
        own = self.base + "/"
        return [u for u in self.requests if not (u.startswith(own) or u.startswith("blob:"))]


@pytest.fixture
def watched(browser, server) -> Iterator[Watched]:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    watched = Watched(context.new_page(), server)
    yield watched
    context.close()
    assert watched.errors == []
    assert watched.dialogs == []
    assert watched.foreign() == []
    assert watched.requests, "the page made no request at all"


def settled(page: Any, profile: dict[str, Any]) -> None:
    """Wait until the answer on the page is the answer for ``profile``."""
    expected = json.dumps(sorted(profile.items()), ensure_ascii=False, separators=(",", ":"))
    page.wait_for_function(
        """expected => {
            const a = document.getElementById('answer');
            if (a.dataset.state !== 'ready' || !a.dataset.profile) return false;
            const p = JSON.parse(a.dataset.profile);
            return JSON.stringify(Object.keys(p).sort().map(k => [k, p[k]])) === expected;
        }""",
        arg=expected,
        timeout=20_000,
    )


def shown_statuses(page: Any) -> dict[str, str]:
    found = page.eval_on_selector_all(
        "[data-measure][data-status], [data-benefit][data-status]",
        "els => els.map(e => [e.dataset.measure || e.dataset.benefit, e.dataset.status])",
    )
    statuses = dict(found)
    statuses["precheck"] = page.get_attribute("[data-precheck]", "data-precheck")
    return statuses


def fill(page: Any, base: str, profile: dict[str, Any], wan: set[str] = frozenset()) -> None:
    """Fill the form as a person would: type, click 是/否, choose the town and the unit."""
    groups = httpx.get(base + "/v1/facts").json()["groups"]
    facts = {f["id"]: f for g in groups for f in g["facts"]}
    for fact, value in profile.items():
        kind = facts[fact]["type"]
        if kind == "bool":
            page.check(f"#f-{fact}" if value else f"#f-{fact}-no", force=True)
        elif kind == "town":
            page.select_option(f"#f-{fact}", value)
        elif kind == "money" and fact in wan:
            page.select_option(f"#u-{fact}", "wan")
            page.fill(f"#f-{fact}", str(value / 10_000).removesuffix(".0"))
        else:
            page.fill(f"#f-{fact}", str(value))


# ── the page as files ────────────────────────────────────────────────────────────────────────


def test_pages_are_served_with_a_strict_content_security_policy(server):
    for path in ("/", "/targets", "/static/app.js", "/static/style.css"):
        response = httpx.get(server + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert "unsafe" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    for path in ("/", "/targets"):
        html = httpx.get(server + path).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
        assert re.findall(r"\son[a-z]+=", html) == []  # no inline handlers
        assert re.findall(r"\sstyle=", html) == []
        assert re.findall(r"(?:src|href)=\"(?:https?:)?//", html) == []  # nothing from elsewhere
    script = httpx.get(server + "/static/app.js").text
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", script)
    assert not re.search(r"\beval\(|new Function\(", script)
    assert not re.search(r"https?://", script)


def test_only_the_page_files_are_served(server):
    assert httpx.get(server + "/static/favicon.svg").status_code == 200
    for path in ("/static/../pyproject.toml", "/static/%2e%2e%2fpyproject.toml", "/static/x.js"):
        assert httpx.get(server + path).status_code == 404, path


# ── the calculator in the browser ────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("name", "wan"),
    [
        ("registered_hnte_first_above_scale", {"rd_expense", "annual_revenue"}),
        ("half_unknown", set()),
        ("small_low_profit", {"taxable_income"}),
    ],
)
def test_filling_the_form_gives_the_api_answer(watched, cli, name, wan):
    page = watched.open()
    profile = example(name)
    fill(page, watched.base, profile, wan)
    settled(page, profile)
    shown = shown_statuses(page)
    assert shown == api_statuses(watched.base, profile)
    # and the command line's answer for the same example file
    matched = json.loads(cli("match", f"examples/{name}.yaml", "--format", "json").stdout)
    for measure in matched["measures"]:
        assert shown[measure["id"]] == measure["status"]
        for benefit in measure["benefits"]:
            assert shown[benefit["id"]] == benefit["status"]
    badges = page.eval_on_selector_all(
        "[data-benefit] > .benefit-head .badge", "els => els.map(e => e.textContent.trim())"
    )
    assert badges
    assert all(re.fullmatch(r"[✓✕?] (适用|不适用|待定)", b) for b in badges), badges


def test_amounts_in_wan_are_sent_in_yuan_exactly(watched):
    page = watched.open()
    page.select_option("#u-rd_expense", "wan")
    page.fill("#f-rd_expense", "12.3456")
    settled(page, {"rd_expense": 123456})
    page.select_option("#u-rd_expense", "yuan")  # switching the unit converts what is shown
    assert page.input_value("#f-rd_expense") == "123456"


def test_a_fact_moves_benefits_between_applies_undetermined_and_back(watched):
    page = watched.open()
    profile = example("registered_hnte_first_above_scale")
    fill(page, watched.base, profile)
    settled(page, profile)
    before = shown_statuses(page)
    assert before["KM7.rd_super_deduction"] == "applies"
    unknown = {k: v for k, v in profile.items() if k != "tech_sme_registered"}
    page.check("#f-tech_sme_registered-unknown", force=True)
    settled(page, unknown)
    middle = shown_statuses(page)
    assert middle == api_statuses(watched.base, unknown)
    moved = {k for k in before if before[k] != middle[k]}
    assert "KM7.rd_super_deduction" in moved
    assert all(middle[k] == "undetermined" for k in moved)
    assert page.text_content("[data-benefit='KM7.rd_super_deduction'] .badge").strip() == "? 待定"
    page.check("#f-tech_sme_registered-no", force=True)
    settled(page, {**unknown, "tech_sme_registered": False})
    assert shown_statuses(page)["KM7.rd_super_deduction"] == "does_not_apply"
    page.check("#f-tech_sme_registered", force=True)
    settled(page, profile)
    assert shown_statuses(page) == before


def test_a_supply_link_jumps_to_its_field(watched):
    profile = example("half_unknown")
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    link = page.locator("[data-benefit][data-status=undetermined] .fact-link").first
    fact = link.get_attribute("data-fact")
    url = page.url
    link.click()
    focused = page.evaluate("() => document.activeElement.closest('[data-fact]').dataset.fact")
    assert focused == fact
    assert page.url == url  # the profile stays in the address


def test_a_shared_address_gives_the_same_answer(watched, browser):
    page = watched.open()
    profile = example("small_low_profit")
    fill(page, watched.base, profile, {"annual_revenue"})
    settled(page, profile)
    address = page.url
    assert "_wan=annual_revenue" in address
    statuses = shown_statuses(page)
    other = browser.new_context(viewport=PHONE).new_page()
    try:
        other.goto(address)
        settled(other, profile)
        assert shown_statuses(other) == statuses
        assert other.input_value("#f-annual_revenue") == str(
            profile["annual_revenue"] / 10_000
        ).removesuffix(".0")
        assert other.input_value("#u-annual_revenue") == "wan"
        assert other.is_checked("#f-tech_sme_registered-no") is (
            profile.get("tech_sme_registered") is False
        )
    finally:
        other.context.close()


def test_markup_in_a_name_is_shown_as_text(watched):
    name = "<img src=x onerror=alert(1)>"
    page = watched.open()
    page.fill("#f-name", name)
    settled(page, {"name": name})
    assert name in page.text_content("#answer")
    assert page.locator("img").count() == 0
    page.reload()
    page.wait_for_selector("#answer[data-state=ready]")
    assert page.input_value("#f-name") == name  # and from the address, still as text
    assert page.locator("img").count() == 0


def test_bad_input_is_explained_at_the_field(watched):
    page = watched.open()
    page.fill("#f-employees", "很多")
    settled(page, {})
    assert page.is_visible("#e-employees")
    assert "整数" in page.text_content("#e-employees")
    assert "无效" in page.text_content("#answer")
    page.fill("#f-employees", "10")
    page.fill("#f-tech_staff", "20")  # more technical staff than employees (max: employees)
    settled(page, {"employees": 10})
    assert page.text_content("#e-tech_staff") == "不能大于职工总数（10）"
    page.fill("#f-employees", "30")  # the bound moves: the error goes
    settled(page, {"employees": 30, "tech_staff": 20})
    assert page.text_content("#e-tech_staff") == ""
    assert not page.is_visible("#e-tech_staff")


def test_a_profile_the_server_refuses_is_explained_at_the_field(watched):
    # a town that is not in 附件2, from a hand-edited address: only the server knows
    page = watched.page
    page.goto(watched.base + "/" + fragment({"town": "火星镇", "employees": 10}))
    page.wait_for_selector("#answer [role=alert]")
    assert "火星镇" in page.text_content("#e-town")
    assert "湖塘镇" in page.text_content("#e-town")  # the message lists what is expected
    assert page.input_value("#f-employees") == "10"  # nothing the user typed is lost
    # Chromium logs every 4xx answer as a console error: that one, and only that one, is expected
    assert [e for e in watched.errors if "422" not in e] == []
    watched.errors.clear()
    page.select_option("#f-town", "湖塘镇")
    settled(page, {"town": "湖塘镇", "employees": 10})
    assert page.text_content("#e-town") == ""


def test_english_switch_keeps_the_profile_and_the_answer(watched, kb):
    profile = example("half_unknown")
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    chinese = shown_statuses(page)
    page.click("#lang-switch")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    settled(page, profile)
    assert page.text_content("h1") == "Tech-SME policy calculator"
    assert shown_statuses(page) == chinese
    assert "_lang=en" in page.url
    assert (
        page.text_content("[data-benefit='KM7.rd_super_deduction'] .badge").strip()
        == "? Undetermined"
    )
    assert page.text_content("#field-hnte_valid legend") == kb.model.facts["hnte_valid"].label.en


def test_every_field_has_a_label_and_the_keyboard_reaches_it(watched):
    page = watched.open()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('#profile-form input, #profile-form select')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.id)"""
    )
    assert unlabelled == []
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "f-name":
            break
    assert page.evaluate("() => document.activeElement.id") == "f-name"


def test_the_print_view_shows_the_answer_alone_on_a4(watched):
    profile = example("registered_hnte_first_above_scale")
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    page.emulate_media(media="print")
    assert not page.is_visible("#profile-form")
    assert page.is_visible("[data-benefit='KM7.rd_super_deduction']")
    pdf = page.pdf(format="A4", print_background=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "answer-print.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 6


def test_download_gives_the_evaluation_json(watched, server):
    profile = example("small_low_profit")
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    with page.expect_download() as info:
        page.click("#download")
    path = info.value.path()
    downloaded = json.loads(Path(path).read_text(encoding="utf-8"))
    direct = httpx.post(f"{server}/v1/evaluate", json=profile).json()
    assert downloaded == direct


def test_screenshots_of_a_full_answer_at_desktop_and_phone_width(browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = example("registered_hnte_first_above_scale")
    for label, viewport, mobile, lang in (
        ("desktop", DESKTOP, False, "zh"),
        ("phone", PHONE, True, "zh"),
        ("desktop-en", DESKTOP, False, "en"),
    ):
        context = browser.new_context(
            viewport=viewport,
            is_mobile=mobile,
            has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
        )
        page = context.new_page()
        extra = {"_lang": "en"} if lang == "en" else {}
        page.goto(server + "/" + fragment(profile, **extra))
        settled(page, profile)
        for details in page.query_selector_all("#answer details.clause")[:2]:
            details.evaluate("d => d.open = true")
        out = ARTIFACTS / f"calculator-{label}.png"
        page.screenshot(path=str(out), full_page=True)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        context.close()
        assert out.stat().st_size > 50_000
        assert width <= viewport["width"], f"{label}: the page is wider than the screen"


def test_on_a_phone_a_bar_shows_the_answer_and_jumps_to_it(browser, server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    watched = Watched(page, server)
    profile = example("half_unknown")
    page.goto(server + "/" + fragment(profile))
    settled(page, profile)
    bar = page.locator("#to-answer")
    assert bar.is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    expected = api_statuses(server, profile)
    applies = sum(1 for k, v in expected.items() if "." in k and v == "applies")
    assert f"{applies} 适用" in bar.text_content()
    assert (
        not page.locator("#answer-title").is_visible()
        or page.evaluate("() => document.getElementById('answer').getBoundingClientRect().top")
        > PHONE["height"]
    )
    bar.tap()
    page.wait_for_function(
        "() => Math.abs(document.getElementById('answer').getBoundingClientRect().top) < 5"
    )
    assert page.evaluate("() => document.activeElement.id") == "answer"
    context.close()
    assert watched.errors == []


# ── the second page ──────────────────────────────────────────────────────────────────────────


def test_the_targets_page_lists_annex_2_and_every_measure(watched, kb):
    page = watched.page
    page.goto(watched.base + "/targets")
    page.wait_for_selector("#measures-list[data-state=ready]")
    rows = page.eval_on_selector_all("tr[data-town]", "els => els.map(e => e.dataset.town)")
    assert rows == [t.name for t in kb.towns]
    assert page.get_attribute("[data-total]", "data-total") == str(kb.model.targets.total)
    quotes = page.eval_on_selector_all(
        "[data-measure] blockquote", "els => els.map(e => e.textContent)"
    )
    catalogue = httpx.get(watched.base + "/v1/measures").json()
    assert quotes == [m["text"] for m in catalogue["measures"]]
    assert len(quotes) == len(kb.measures) == 12
    page.screenshot(path=str(ARTIFACTS / "targets-desktop.png"), full_page=True)


# ── a fact added by policy staff ─────────────────────────────────────────────────────────────


def test_a_new_fact_in_measures_yaml_appears_in_the_form(browser, tmp_path):
    text = (ROOT / "measures.yaml").read_text(encoding="utf-8")
    anchor = "  led_standard:\n"
    assert text.count(anchor) == 1
    added = (
        "  green_factory:\n"
        "    label_zh: 获评省级以上绿色工厂\n"
        "    label_en: Recognised as a provincial or national green factory\n"
        "    type: bool\n"
        "    group: 资质与状态\n"
    )
    proves = "      proves: [restricted_industry, serious_violation]\n"  # the declaration's
    assert text.count(proves) == 1  # a new fact needs its evidence: here the enterprise's word
    text = text.replace(proves, proves.replace("]", ", green_factory]"))
    path = tmp_path / "measures.yaml"
    path.write_text(text.replace(anchor, added + anchor), encoding="utf-8")
    with serving("--measures", str(path)) as base:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        watched = Watched(page, base)
        watched.open()
        field = page.locator("#field-green_factory")
        assert field.locator("legend").text_content() == "获评省级以上绿色工厂"
        assert field.evaluate("f => f.closest('[data-group]').dataset.group") == "资质与状态"
        assert field.locator("input[type=radio]").count() == 3
        page.check("#f-green_factory", force=True)
        settled(page, {"green_factory": True})
        assert "green_factory=1" in page.url
        context.close()
        assert watched.errors == []


# ── 免申即享 and the documents to prepare ──────────────────────────────────────────────────


def api_answer(base: str, profile: dict[str, Any], lang: str) -> dict[str, Any]:
    answer = httpx.post(f"{base}/v1/evaluate", params={"lang": lang}, json=profile, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def shown_applications(page: Any) -> dict[str, tuple[str, list[str]]]:
    found = page.eval_on_selector_all(
        "[data-benefit]",
        """els => els.map(e => {
            const app = e.querySelector('[data-application]');
            return [e.dataset.benefit, app ? app.dataset.application : null,
                    app ? [...app.querySelectorAll('[data-document]')].map(d => d.dataset.document) : []];
        })""",
    )
    return {b: (mode, docs) for b, mode, docs in found if mode is not None}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ["incubated_startup", "registered_hnte_first_above_scale"])
def test_each_benefit_shows_no_application_or_its_documents(browser, server, name, lang):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watched = Watched(page, server)
    profile = example(name)
    page.goto(server + "/" + fragment(profile, **({"_lang": "en"} if lang == "en" else {})))
    settled(page, profile)
    data = api_answer(server, profile, lang)
    expected = {
        b["id"]: (b["application"]["mode"], [d["id"] for d in b["application"]["documents"]])
        for m in data["measures"]
        for b in m["benefits"]
        if b["status"] != "does_not_apply"
    }
    assert shown_applications(page) == expected
    text = page.inner_text("#answer")
    modes = {mode for mode, _ in expected.values()}
    words = {
        "zh": {"no_application": "免申即享", "documents_needed": "需准备的材料"},
        "en": {
            "no_application": "No application needed",
            "documents_needed": "Documents to prepare",
        },
    }[lang]
    for mode in modes:
        assert words[mode] in text
    for b in (
        b for m in data["measures"] for b in m["benefits"] if b["status"] != "does_not_apply"
    ):
        for d in b["application"]["documents"]:
            assert d["label"] in text
    if lang == "en":  # no Chinese punctuation in what the page says of the documents
        blocks = page.eval_on_selector_all(
            "[data-application], .checklist", "els => els.map(e => e.innerText)"
        )
        for block in blocks:
            assert not set("：，；、") & set(block), block
    context.close()
    assert watched.errors == []
    assert watched.foreign() == []


def test_the_checklist_lists_every_document_once_with_its_benefits(watched, server):
    profile = example("incubated_startup")
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    data = api_answer(server, profile, "zh")
    uses: dict[str, list[str]] = {}
    for m in data["measures"]:
        for b in m["benefits"]:
            if b["status"] != "does_not_apply":
                for d in b["application"]["documents"]:
                    uses.setdefault(d["id"], []).append(b["title"])
    for d in data["tech_sme_precheck"]["materials"]["documents"]:
        uses.setdefault(d["id"], []).append("科技型中小企业评价")
    items = page.eval_on_selector_all(
        ".checklist [data-document]",
        "els => els.map(e => [e.dataset.document, e.querySelector('.uses').innerText])",
    )
    assert [i for i, _ in items] == list(uses)  # each document once, in the order first needed
    for doc, shown in items:
        assert shown == "用于：" + "、".join(uses[doc])
    # an enterprise already registered this year with every benefit 免申即享 has nothing to bring
    profile = example("registered_hnte_first_above_scale")
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    assert page.get_attribute(".checklist", "data-checklist") == "0"
    assert "没有须由企业自行准备的材料" in page.inner_text(".checklist")
    assert page.get_attribute(".checklist .ready-list", "data-ready") == "11"


def test_the_print_view_is_a_checklist_for_the_service_hall(browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = example("incubated_startup")
    for lang in ("zh", "en"):
        context = browser.new_context(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
        page = context.new_page()
        page.goto(server + "/" + fragment(profile, **({"_lang": "en"} if lang == "en" else {})))
        settled(page, profile)
        page.emulate_media(media="print")
        assert not page.is_visible("#profile-form")
        assert page.is_visible(".checklist")
        boxes = page.eval_on_selector_all(
            ".checklist .box",
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
        )
        data = api_answer(server, profile, lang)
        needed = {
            d["id"]
            for m in data["measures"]
            for b in m["benefits"]
            if b["status"] != "does_not_apply"
            for d in b["application"]["documents"]
        } | {d["id"] for d in data["tech_sme_precheck"]["materials"]["documents"]}
        assert len(boxes) == len(needed) == 7  # 3 for the benefits, 4 more for the evaluation
        assert all(
            w >= 8 and h >= 8 for w, h in boxes
        )  # a box to tick, not a glyph that may be missing
        page.locator(".checklist").screenshot(path=str(ARTIFACTS / f"checklist-print-{lang}.png"))
        pdf = page.pdf(format="A4", print_background=True)
        (ARTIFACTS / f"checklist-print-{lang}.pdf").write_bytes(pdf)
        context.close()
        assert pdf.startswith(b"%PDF")


# ── phones, English, and what the page says of amounts ──────────────────────────────────────

_CHINESE_PUNCTUATION = set("：，；、（）。")


@pytest.mark.parametrize("width", [360, 390])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_on_narrow_phones_nothing_is_wider_than_the_screen(browser, server, width, lang):
    context = browser.new_context(
        viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    watched = Watched(page, server)
    for name in ("half_unknown", "registered_hnte_first_above_scale", "over_sme_limits"):
        profile = example(name)
        page.goto(server + "/" + fragment(profile, **({"_lang": "en"} if lang == "en" else {})))
        settled(page, profile)
        if name == "over_sme_limits":  # applies without an amount: the note says why, on a phone
            note = "[data-benefit='KM7.rd_growth_reward'] [data-estimate-note]"
            page.locator(note).scroll_into_view_if_needed()
            assert page.is_visible(note)
            box = page.eval_on_selector(note, "e => e.getBoundingClientRect().right")
            assert box <= width
        wider = page.evaluate(
            """(W) => [...document.querySelectorAll('body *')]
                .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > W + 0.5; })
                .map(e => e.tagName + '.' + e.className)""",
            width,
        )
        assert wider == [], f"{name}: wider than {width} px: {wider[:5]}"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        # the score card's indicator names are read as words, not one word per line
        heights = page.eval_on_selector_all(
            ".indicators th[scope=row]", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        line = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('.indicators th')).lineHeight)"
        )
        assert heights
        assert max(heights) < 2.5 * line
        bar = page.eval_on_selector(".result-bar button", "e => e.getBoundingClientRect().right")
        assert bar <= width
        if name == "registered_hnte_first_above_scale":
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"calculator-phone-{width}-{lang}.png"))
    context.close()
    assert watched.errors == []


def test_english_separators_are_english(browser, server):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    for name in ("half_unknown", "registered_hnte_first_above_scale", "small_low_profit"):
        profile = example(name)
        page.goto(server + "/" + fragment(profile, _lang="en"))
        settled(page, profile)
        texts = page.eval_on_selector_all(
            ".supply, .source, .estimate p, .estimate-note, .audience, .change, [data-application],"
            " .checklist, .who",
            "els => els.map(e => e.innerText)",
        )
        assert texts
        for text in texts:
            # a Chinese title or quotation may keep its own marks; the page's own words may not
            own = re.sub(r"《[^》]*》|“[^”]*”|（[^）]*号）|〔[^〕]*〕", "", text)
            assert not _CHINESE_PUNCTUATION & set(own), text
    context.close()


@pytest.mark.parametrize(("lang", "word"), [("zh", "金额："), ("en", "Amount: ")])
def test_a_benefit_without_an_amount_says_why(watched, server, lang, word):
    profile = example("over_sme_limits")
    extra = {"_lang": "en"} if lang == "en" else {}
    page = watched.open("/" + fragment(profile, **extra))
    settled(page, profile)
    data = api_answer(server, profile, lang)
    growth = next(
        b for m in data["measures"] for b in m["benefits"] if b["id"] == "KM7.rd_growth_reward"
    )
    assert growth["status"] == "applies"
    assert growth["estimate"] is None
    note = page.inner_text("[data-benefit='KM7.rd_growth_reward'] [data-estimate-note]")
    assert note == word + growth["estimate_note"]
    assert page.is_visible("[data-benefit='KM7.rd_growth_reward'] [data-estimate-note]")


def test_the_page_does_not_show_enterprises_file_and_line_jargon(watched):
    profile = example("registered_hnte_first_above_scale")
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    for details in page.query_selector_all("#answer details.clause"):
        details.evaluate("d => d.open = true")
    text = page.inner_text("#answer")
    assert "measures.yaml" not in text


def test_the_api_docs_are_swagger_ui_from_the_installed_package(browser, server):
    import fastapi_offline

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watched = Watched(page, server)
    page.goto(server + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    spec = httpx.get(server + "/openapi.json").json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    shown = {
        (e.get_attribute("class") or "").split("opblock-")[-1].split()[0] + " " + e.inner_text()
        for e in page.query_selector_all(".opblock-summary-path")
    }
    assert len(shown) >= 1
    ids = {op["operationId"] for methods in spec["paths"].values() for op in methods.values()}
    assert "evaluate" in ids  # readable operation ids, not FastAPI's generated ones
    assert len(page.query_selector_all(".opblock")) >= operations
    bundle = next(u for u in watched.requests if "swagger-ui-bundle.js" in u)
    served = httpx.get(bundle).content
    shipped = (
        Path(fastapi_offline.__file__).parent / "static" / "swagger-ui-bundle.js"
    ).read_bytes()
    assert served == shipped
    context.close()
    assert watched.errors == []
    assert watched.foreign() == []


@pytest.mark.parametrize(("lang", "shown"), [("zh", "720 万元"), ("en", "720 × 10k yuan (万元)")])
def test_amounts_typed_in_wan_are_shown_back_in_wan(browser, server, lang, shown):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watched = Watched(page, server)
    profile = example("registered_hnte_first_above_scale")
    page.goto(
        server
        + "/"
        + fragment(profile, _wan="rd_expense", **({"_lang": "en"} if lang == "en" else {}))
    )
    settled(page, profile)
    deduction = page.inner_text("[data-benefit='KM7.rd_super_deduction']")
    assert shown in deduction  # the reason and the estimate's inputs
    assert "7,200,000" not in deduction
    # an amount typed in 元 stays in 元
    other = page.inner_text("[data-benefit='KM5.tech_transfer_tax'] .reason")
    assert ("800,000 元" if lang == "zh" else "CNY 800,000") in other
    context.close()
    assert watched.errors == []


def test_an_amount_not_known_yet_is_shown_as_unknown_never_zero(watched):
    """The HNTE relief applies but needs the taxable income: the page's totals say so, as the
    API's unknown_by_kind does, instead of leaving the tax saving out or showing 0."""
    profile = {"hnte_valid": True, "employees": 10}
    page = watched.open("/" + fragment(profile))
    settled(page, profile)
    assert page.inner_text(".estimates [data-kind='tax_saving']") == "金额未知（1 项无法估算金额）"
