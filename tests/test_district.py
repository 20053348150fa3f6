"""District scale: town progress against 附件2, the mobilisation list, reform impact, the example."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import ROOT

import policy_kb
from policy_kb.views import chart as _chart
from policy_kb.views import tables

ROSTER = ROOT / "examples" / "roster" / "roster.csv"
TRUE = {"true", "是", "1", "yes"}


def _profiles(kb: policy_kb.KnowledgeBase) -> list[dict[str, Any]]:
    """The example roster read independently of the roster engine: one profile per row."""
    profiles = []
    with ROSTER.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            profile: dict[str, Any] = {}
            for fact, cell in row.items():
                if cell == "":
                    continue
                kind = kb.model.facts[fact].type.value
                if kind == "bool":
                    profile[fact] = cell.lower() in TRUE
                elif kind in ("text", "town"):
                    profile[fact] = cell
                else:
                    profile[fact] = int(cell)
            profiles.append(profile)
    return profiles


@pytest.fixture(scope="module")
def example(kb) -> list[tuple[dict[str, Any], policy_kb.Evaluation]]:
    return [(p, kb.evaluate(p)) for p in _profiles(kb)]


@pytest.fixture(scope="module")
def report(kb) -> policy_kb.Progress:
    return kb.progress(ROSTER)


# ── progress ─────────────────────────────────────────────────────────────────────────────────


def test_progress_totals_reconcile(kb, report):
    assert report.rows == 2000
    assert report.invalid == 0
    assert report.registered == sum(t.registered for t in report.towns)
    assert report.pool == sum(t.pool for t in report.towns)
    assert report.shortfall == sum(t.shortfall for t in report.towns)
    assert report.target == sum(t.target for t in report.towns)
    assert report.target == report.printed_total == kb.model.targets.total
    assert report.target == 670  # 附件2: the printed 合计
    assert sum(t.enterprises for t in report.towns) + report.outside == report.rows
    assert len(report.towns) == 11


def test_progress_counts_match_evaluating_each_row_alone(report, example):
    registered: dict[str, int] = {}
    pool: dict[str, int] = {}
    for profile, ev in example:
        town = profile.get("town")
        is_registered = profile.get("tech_sme_registered") is True
        registered[town] = registered.get(town, 0) + is_registered
        qualifies = ev.precheck.qualifies is True
        pool[town] = pool.get(town, 0) + (qualifies and not is_registered)
    for town in report.towns:
        assert town.registered == registered.get(town.name, 0), town.name
        assert town.pool == pool.get(town.name, 0), town.name
        assert town.shortfall == max(0, town.target - town.registered)
        assert town.pool_closes == min(town.pool, town.shortfall)
    assert 0 < report.registered < report.target  # a realistic roster: behind, not absurd


def test_progress_cli_prints_the_table_and_json_and_draws_the_chart(cli, tmp_path, report):
    chart = tmp_path / "progress.png"
    done = cli("progress", str(ROSTER), "--chart", str(chart), "--quiet")
    assert done.returncode == 0, done.stderr
    for town in report.towns:
        assert town.name in done.stdout
    assert "全区合计" in done.stdout
    assert f"{report.registered}" in done.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.stat().st_size > 20_000
    assert "图表：" in done.stderr
    data = json.loads(cli("progress", str(ROSTER), "--format", "json", "--quiet").stdout)
    assert sum(t["registered"] for t in data["towns"]) == data["district"]["registered"]
    assert data["district"]["target"] == sum(t["target"] for t in data["towns"])


def test_a_town_without_a_target_has_no_completion_rate_not_zero(report, tmp_path):
    """附件2 allows a target of 0: such a town has no completion rate (shown —, null in JSON),
    never 0 %; the district's rate still counts every town."""
    from dataclasses import replace

    from policy_kb.views import tables

    first = report.towns[0]
    towns = [replace(first, target=0, registered=3), *report.towns[1:]]
    edited = replace(report, towns=towns)
    assert edited.towns[0].rate is None
    assert edited.towns[0].rate_with_pool is None
    assert edited.rate == edited.registered / edited.target
    data = edited.to_dict()
    assert data["towns"][0]["completion_rate"] is None
    assert data["towns"][0]["completion_rate_with_pool"] is None
    row = next(line for line in tables.progress_table(edited).splitlines() if first.name in line)
    assert "—" in row
    assert "0%" not in row
    chart = _chart.progress_chart(edited, tmp_path / "c.svg", "zh")
    assert chart is not None
    # no town with a target: the district has none either, and its row said 0 % twice
    none = replace(report, towns=[replace(t, target=0) for t in report.towns])
    assert none.rate is None
    assert none.rate_with_pool is None
    district = tables.progress_table(none).splitlines()
    row = next(line for line in district if "全区" in line or "合计" in line)
    assert "0%" not in row
    assert row.count("—") == 2


def test_the_chart_is_readable_in_chinese_with_the_shipped_font(report, tmp_path, monkeypatch):
    # no system font: the subset shipped in the package must cover every label
    monkeypatch.setattr(_chart, "_SYSTEM_FAMILIES", ())
    result = _chart.progress_chart(report, tmp_path / "c.png", "zh")
    assert result.fallback is False
    assert _chart.SUBSET_FONT in result.font
    svg = _chart.progress_chart(report, tmp_path / "c.svg", "zh")
    assert svg.path.read_text(encoding="utf-8").startswith("<?xml")


def test_without_any_cjk_font_the_chart_falls_back_to_pinyin_and_says_so(
    report, tmp_path, monkeypatch
):
    monkeypatch.setattr(_chart, "find_font", lambda chars: None)
    result = _chart.progress_chart(report, tmp_path / "c.png", "zh")
    assert result.fallback is True
    assert [_chart.pinyin_label(t.name) for t in report.towns][2:4] == [
        "Hutang Zhen",
        "Niutang Zhen",
    ]
    assert _chart.pinyin_label("绿建区") == "Lüjian Qu"


def test_a_chart_with_another_extension_is_refused(report, tmp_path):
    with pytest.raises(policy_kb.PolicyKBError) as raised:
        _chart.progress_chart(report, tmp_path / "c.jpg", "zh")
    assert re.search(r"\.png or \.svg", raised.value.render("en")), raised.value.render("en")


def test_progress_and_mobilise_name_the_rows_they_could_not_count(cli, kb, tmp_path):
    """progress said only how many rows it left out, mobilise nothing: both now name each, as
    roster does (on standard error; progress also under "errors" in its JSON, kb.mobilise in
    its list's ``errors``)."""
    path = tmp_path / "r.csv"
    path.write_text(
        "name,town,tech_sme_registered,employees\n"
        "甲公司,湖塘镇,true,10\n"
        "乙公司,湖塘镇,maybe,10\n"
        "丙公司,湖塘镇,true\n",
        encoding="utf-8",
    )
    done = cli("progress", str(path), "--lang", "en", "--quiet")
    assert done.returncode == 0, done.stderr
    said = done.stderr.splitlines()
    assert said[0].startswith(f"{path}: row 3: ")
    assert "maybe" in said[0]
    assert said[1] == (
        f"{path}: row 4: the row has 3 cells where the header has 4: each cell must be under "
        "its column (a comma missing or one too many?)"
    )
    listed = tmp_path / "list.csv"
    done = cli("mobilise", str(path), "-o", str(listed), "--lang", "en", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[:2] == said[:2]  # mobilise names them too
    data = json.loads(cli("progress", str(path), "--format", "json", "--quiet").stdout)
    assert data["invalid_rows"] == 2
    assert [e["row"] for e in data["errors"]] == [3, 4]
    assert data["errors"][0]["facts"] == ["tech_sme_registered"]
    assert data["errors"][1]["message"].startswith("该行有 3 个单元格，表头有 4 个")
    found = kb.mobilise(path)
    assert [e.row for e in found.errors] == [3, 4]
    assert isinstance(found, list)
    assert found == []  # 甲 is registered: not in the pool


def test_progress_refuses_a_roster_without_town_or_registration(cli, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,employees\nA,10\n", encoding="utf-8")
    done = cli("progress", str(path), "--lang", "en")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"{path}: progress needs the columns 'town' (Town or development zone) and "
        "'tech_sme_registered' (Holds this year's tech-SME registration number (passed the evaluation))"
    )
    assert cli("progress", str(path)).stderr.strip() == (
        f"{path}：progress 需要列 'town'（所在镇（开发区））和"
        "'tech_sme_registered'（已取得当年科技型中小企业入库登记编号（通过评价））"
    )
    done = cli("mobilise", str(path), "-o", str(tmp_path / "list.csv"), "--lang", "en")
    assert done.returncode == 2
    assert "mobilise needs the column 'town'" in done.stderr
    assert not (tmp_path / "list.csv").exists()


# ── mobilise ─────────────────────────────────────────────────────────────────────────────────


def test_mobilise_lists_exactly_the_pool(kb, report, example):
    entries = kb.mobilise(ROSTER)
    assert len(entries) == report.pool > 0
    by_row = {i + 2: pair for i, pair in enumerate(example)}
    for entry in entries:
        profile, ev = by_row[entry.row]
        assert ev.precheck.qualifies is True
        assert profile.get("tech_sme_registered") is not True
        assert entry.registered == ("unknown" if "tech_sme_registered" not in profile else "no")
        assert entry.town == profile["town"]
        assert entry.name == profile["name"]
        assert entry.group == "pool"
        assert entry.route == ev.precheck.route
    # grouped by town in the order of 附件2
    seqs = [e.seq for e in entries]
    assert seqs == sorted(seqs)


def test_mobilise_names_the_missing_facts_of_the_evaluation_form(kb, example):
    entries = kb.mobilise(ROSTER, lang="en")
    by_row = {i + 2: profile for i, (profile, _) in enumerate(example)}
    with_missing = [e for e in entries if e.missing]
    assert with_missing
    labels = {f.label.en: f.id for f in kb.model.facts.values()}
    for entry in with_missing:
        for label in entry.missing:
            assert labels[label] not in by_row[entry.row]


def test_mobilise_near_misses_carry_their_smallest_change(kb, example):
    entries = kb.mobilise(ROSTER, near=True)
    near = [e for e in entries if e.group == "near"]
    assert near
    by_row = {i + 2: pair for i, pair in enumerate(example)}
    for entry in near:
        profile, ev = by_row[entry.row]
        assert ev.precheck.qualifies is False
        assert ev.precheck.smallest_change is not None
        assert profile.get("tech_sme_registered") is not True
        assert "可通过评价" in (entry.change or "")


def test_mobilise_cli_writes_the_list_of_one_town(cli, kb, tmp_path, report):
    out = tmp_path / "list.csv"
    done = cli("mobilise", str(ROSTER), "--town", "湖塘镇", "-o", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    hutang = next(t for t in report.towns if t.name == "湖塘镇")
    assert len(rows) == hutang.pool
    assert {r["镇（开发区）"] for r in rows} == {"湖塘镇"}
    assert {r["是否已入库"] for r in rows} <= {"否", "未知"}
    assert f"{hutang.pool} 家企业" in done.stdout


def test_mobilise_refuses_an_unknown_town_with_a_suggestion(cli, tmp_path):
    done = cli("mobilise", str(ROSTER), "--town", "湖塘", "-o", str(tmp_path / "x.csv"))
    assert done.returncode != 0
    assert "湖塘镇" in done.stderr
    assert not (tmp_path / "x.csv").exists()


# ── impact ───────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def lowered(tmp_path_factory) -> Path:
    """measures.yaml with KM7's growth threshold lowered from 20万 to 10万."""
    text = (ROOT / "measures.yaml").read_text(encoding="utf-8")
    old = "        value: 200000           # 20万元（含）"
    assert text.count(old) == 1
    path = tmp_path_factory.mktemp("reform") / "measures.yaml"
    new = "        value: 100000           # 10万元（含）\n        reference: 测算方案：增长额降至10万元"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_impact_of_lowering_the_km7_growth_threshold(kb, lowered):
    new = policy_kb.load(lowered)
    assert new.parameters_for_year(2021)["rd_growth_reward_min_increase"].value * 2 == (
        kb.parameters_for_year(2021)["rd_growth_reward_min_increase"].value
    )
    report = kb.impact(new, ROSTER, details=True)
    before = pl.concat(kb.roster(ROSTER, keep=True).frames)
    after = pl.concat(new.roster(ROSTER, keep=True).frames)
    benefit = "KM7.rd_growth_reward"
    old, now = before[benefit], after[benefit]
    moved = report.benefits[benefit]
    assert moved.gains == int(((old != "applies") & (now == "applies")).sum())
    assert moved.losses == int(((old == "applies") & (now != "applies")).sum())
    assert moved.to_undetermined == int(((old != "undetermined") & (now == "undetermined")).sum())
    assert moved.from_undetermined == int(((old == "undetermined") & (now != "undetermined")).sum())
    assert moved.gains > 0
    assert moved.losses == 0  # a lower threshold takes the reward from nobody
    assert kb.model.benefits[benefit].estimate is None  # the text names no amount for it
    assert moved.change is None  # no amount in either version: not a change of 0
    assert moved.old_total is None
    assert report.to_dict()["benefits"][-3]["estimated_total_change"] is None
    line = next(r for r in tables.impact_table(report).splitlines() if benefit in r)
    assert line.split()[-1] == "—"
    # nothing else moves, and every detail row is a real change of this benefit
    for other, entry in report.benefits.items():
        if other != benefit:
            assert entry.count() == 0, other
    assert {d["benefit"] for d in report.details} == {benefit}
    changed = set(
        before.with_columns(now.alias("after")).filter(pl.col(benefit) != pl.col("after"))["row"]
    )
    assert {d["row"] for d in report.details} == changed


def test_impact_cli_reports_gains_as_json(cli, lowered):
    def impact(*options: str) -> Any:
        return cli(
            "impact",
            "--old",
            str(ROOT / "measures.yaml"),
            "--new",
            str(lowered),
            str(ROSTER),
            *options,
        )

    done = impact("--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    growth = next(b for b in data["benefits"] if b["benefit"] == "KM7.rd_growth_reward")
    assert growth["gains"] > 0
    assert growth["losses"] == 0
    assert "KM7.rd_growth_reward" in impact().stdout
    # each moved row in the reader's words: its row, its benefit, the statuses before and after
    details = [
        line.strip()
        for line in impact("--details").stdout.splitlines()
        if "KM7.rd_growth_reward：" in line
    ]
    assert details
    moves = [re.fullmatch(r"第 \d+ 行 .*KM7\.rd_growth_reward：(\S+) → (\S+)", d) for d in details]
    assert all(m is not None for m in moves)
    assert {(m.group(1), m.group(2)) for m in moves if m} <= {
        ("不适用", "待定"),
        ("不适用", "适用"),
        ("待定", "适用"),
    }


def test_impact_totals_follow_a_change_of_rate(kb, tmp_path):
    """A reform of an amount, not of eligibility: 200 % super-deduction already in 2021."""
    text = (ROOT / "measures.yaml").read_text(encoding="utf-8")
    old = "      - from: 2017-01-01\n        value: 175\n"
    assert text.count(old) == 1
    path = tmp_path / "measures.yaml"
    path.write_text(text.replace(old, "      - from: 2017-01-01\n        value: 200\n"), "utf-8")
    new = policy_kb.load(path)
    report = kb.impact(new, ROSTER)
    benefit = "KM7.rd_super_deduction"
    moved = report.benefits[benefit]
    assert moved.count() == 0  # nobody gains or loses it
    column = f"estimate:{benefit}"
    totals = []
    for base in (kb, new):
        frame = pl.concat(base.roster(ROSTER, keep=True).frames)
        amounts = frame.filter(pl.col(benefit) == "applies")[column].drop_nulls()
        totals.append(sum(round(a * 100) for a in amounts.to_list()))
    assert round(moved.old_total * 100) == totals[0]
    assert round(moved.new_total * 100) == totals[1]
    assert moved.change > 0
    # a benefit that applies with an amount a missing fact leaves open is counted, not taken as 0
    taxed = report.benefits["KM5.hnte_income_tax"]
    frame = pl.concat(kb.roster(ROSTER, keep=True).frames)
    applies = frame.filter(pl.col("KM5.hnte_income_tax") == "applies")
    open_rows = applies["estimate:KM5.hnte_income_tax"].null_count()
    assert open_rows > 0
    assert taxed.old_unknown == taxed.new_unknown == open_rows
    line = next(r for r in tables.impact_table(report).splitlines() if "hnte_income_tax" in r)
    assert line.endswith(f"+0.00（另有 {open_rows} 家金额未知）")
    # (200 % - 100 %) / (175 % - 100 %): a third more, to within a fen per enterprise
    assert abs(moved.new_total - moved.old_total * 4 / 3) < 0.01 * len(amounts)


# ── roster CLI ───────────────────────────────────────────────────────────────────────────────


def test_roster_cli_writes_answers_and_reports_bad_rows(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    shutil.copy(ROSTER, bad)
    lines = bad.read_text(encoding="utf-8").splitlines()
    cells = lines[5].split(",")
    cells[4] = "很多"  # employees
    lines[5] = ",".join(cells)
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "answers.parquet"
    done = cli("roster", str(bad), "-o", str(out), "--format", "json", "--lang", "en")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["rows"] == 2000
    assert data["invalid_rows"] == 1
    assert data["errors"][0]["row"] == 6
    assert data["errors"][0]["facts"] == ["employees"]
    assert "row 6:" in done.stderr
    assert "很多" in done.stderr
    assert "%|" not in done.stderr  # no progress bar when not on a terminal
    assert pl.read_parquet(out).height == 2000


# ── the example roster ───────────────────────────────────────────────────────────────────────


def test_the_example_roster_is_regenerated_byte_for_byte(tmp_path):
    out = tmp_path / "roster.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "roster" / "generate.py"), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == ROSTER.read_bytes()


def test_the_example_roster_is_plausible(kb):
    frame = pl.read_csv(ROSTER, infer_schema_length=0)
    assert frame.height == 2000
    assert set(frame["town"]) == {t.name for t in kb.towns}
    optional = [c for c in frame.columns if c not in ("name", "year", "town")]
    empty = sum(frame[c].null_count() for c in optional) / (frame.height * len(optional))
    assert 0.17 < empty < 0.23  # about 20 % of the facts unknown
    employees = frame["employees"].drop_nulls().cast(pl.Int64)
    assert 20 < employees.median() < 100  # SMEs, not giants
    assert frame["name"].n_unique() == 2000


def test_impact_has_no_total_where_every_amount_is_unknown(kb, lowered, tmp_path):
    """Where a benefit applies but every amount needs a fact left blank, the totals were 0.0 and
    the change +0.00 (found by a code review): none is known, so there is no total."""
    path = tmp_path / "unknown.csv"
    path.write_text(
        "name,employees,hnte_valid,annual_revenue,total_assets\n"
        "A,30,true,1000000,2000000\nB,40,true,1000000,2000000\n",
        "utf-8",
    )
    report = kb.impact(policy_kb.load(lowered), path)
    taxed = report.benefits["KM5.hnte_income_tax"]
    assert (taxed.old_unknown, taxed.old_known) == (2, 0)
    assert taxed.old_total is None
    assert taxed.change is None
    line = next(r for r in tables.impact_table(report).splitlines() if "hnte_income_tax" in r)
    assert line.endswith("—（另有 2 家金额未知）")
