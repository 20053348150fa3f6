"""Every district command takes the same reading options as `roster`."""

from __future__ import annotations

import csv

import pytest
from conftest import ROOT

ROSTER = ROOT / "examples" / "roster" / "roster.csv"
#: every district command, with what it needs besides the roster
COMMANDS = [
    ["roster"],
    ["progress"],
    ["mobilise", "-o", "{out}"],
    ["impact", "--old", "measures.yaml", "--new", "measures.yaml"],
]


@pytest.fixture
def with_extra_column(tmp_path):
    rows = list(csv.reader(ROSTER.open(encoding="utf-8")))
    path = tmp_path / "extra.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*rows[0], "备注"])
        writer.writerows([*row, "x"] for row in rows[1:50])
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_columns_are_refused_then_skipped_on_request(
    cli, tmp_path, with_extra_column, command
):
    args = [a.format(out=tmp_path / "pool.csv") for a in command]
    refused = cli(*args[:1], str(with_extra_column), *args[1:], "--quiet", "--lang", "en")
    assert refused.returncode == 2
    assert "备注" in refused.stderr
    assert "--ignore-unknown-columns" in refused.stderr
    accepted = cli(
        *args[:1], str(with_extra_column), *args[1:], "--quiet", "--ignore-unknown-columns"
    )
    assert accepted.returncode == 0, accepted.stderr


def test_a_repeated_enterprise_is_reported_and_counted_once(kb, tmp_path):
    rows = list(csv.reader(ROSTER.open(encoding="utf-8")))
    once = tmp_path / "once.csv"
    twice = tmp_path / "twice.csv"
    with once.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:101])
    with twice.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([*rows[:101], *rows[1:51]])  # the first 50 firms again
    a, b = kb.roster(once), kb.roster(twice)
    assert b.summary.rows == a.summary.rows + 50
    assert len(b.summary.errors) == len(a.summary.errors) + 50
    repeat = b.summary.errors[-1]
    assert repeat.row == 151
    assert "the same enterprise as row 51" in repeat.render("en")
    assert b.summary.statuses == a.summary.statuses  # each firm counted once
    p_once, p_twice = kb.progress(once).to_dict(), kb.progress(twice).to_dict()
    assert p_twice.pop("invalid_rows") == 50
    assert p_twice.pop("rows") == 150
    assert [e["row"] for e in p_twice.pop("errors")] == [e.row for e in b.summary.errors]
    assert {k: v for k, v in p_once.items() if k not in ("rows", "invalid_rows", "errors")} == (
        p_twice
    )
    assert len(kb.mobilise(twice)) == len(kb.mobilise(once))


MONEY = (
    "annual_revenue",
    "total_assets",
    "total_costs",
    "taxable_income",
    "local_contribution",
    "local_contribution_prior_year",
    "rd_expense",
    "rd_expense_prior_year",
    "tech_transfer_income",
)


@pytest.fixture
def in_wan_yuan(tmp_path):
    """The first 300 firms of the example roster with every amount divided by 10,000 (万元)."""
    rows = list(csv.reader(ROSTER.open(encoding="utf-8")))
    header = rows[0]
    money = [header.index(c) for c in MONEY]
    path = tmp_path / "wan.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows[1:301]:
            writer.writerow(
                [f"{float(v) / 10000:.4f}" if i in money and v else v for i, v in enumerate(row)]
            )
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_a_roster_in_wan_yuan_is_refused_by_every_command(cli, tmp_path, in_wan_yuan, command):
    args = [a.format(out=tmp_path / "pool.csv") for a in command]
    refused = cli(args[0], str(in_wan_yuan), *args[1:], "--quiet")
    assert refused.returncode == 2
    assert "金额看来是以万元填写的" in refused.stderr
    assert "annual_revenue（年销售收入）的中位数只有" in refused.stderr
    assert "--amounts-are-yuan" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "pool.csv").exists()  # nothing written
    english = cli(args[0], str(in_wan_yuan), *args[1:], "--quiet", "--lang", "en")
    assert "the amounts look as if written in 万元" in english.stderr
    confirmed = cli(args[0], str(in_wan_yuan), *args[1:], "--quiet", "--amounts-are-yuan")
    assert confirmed.returncode == 0, confirmed.stderr


def test_the_wan_yuan_check_reads_the_medians(kb, tmp_path, in_wan_yuan):
    from policy_kb.errors import RosterError

    with pytest.raises(RosterError) as refused:
        kb.mobilise(in_wan_yuan)
    assert "the median of annual_revenue (Annual sales revenue)" in refused.value.render("en")
    # the same firms in 元 pass; a few firms with small amounts do not trip it either
    assert kb.roster(ROSTER).summary.rows == 2000
    rows = list(csv.reader(in_wan_yuan.open(encoding="utf-8")))
    few = tmp_path / "few.csv"
    with few.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:10])  # nine firms: too few to judge the unit by
    assert kb.roster(few).summary.rows == 9
    assert kb.roster(in_wan_yuan, amounts_are_yuan=True).summary.rows == 300


def test_a_name_repeated_with_spaces_inside_is_the_same_enterprise(kb, tmp_path):
    """Spaces are ignored wherever they are (full-width ones too): 常州 乙 公司 repeats 常州乙公司."""
    path = tmp_path / "spaces.csv"
    path.write_text(
        "name,employees\n常州乙公司,5\n常州 乙 公司,5\n 常州乙公司　,5\n常州丙公司,5\n",
        encoding="utf-8",
    )
    run = kb.roster(path)
    assert [e.row for e in run.summary.errors] == [3, 4]
    assert all("row 2" in e.render("en") for e in run.summary.errors)


@pytest.mark.parametrize("command", ["roster", "progress", "readiness"])
def test_a_year_without_parameter_values_is_refused_once_before_reading(cli, command):
    """`progress --year 2020` refused each of the 2,000 rows, then printed an all-zero table with
    exit 0 (found by a hostile-input review): the year is refused once, as `match` refuses it."""
    run = cli(command, str(ROOT / "examples" / "roster" / "roster.csv"), "--year", "2020")
    assert run.returncode == 2, run.stdout[-300:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "2020" in lines[0]
    assert "rd_growth_reward_min_increase" in lines[0]
