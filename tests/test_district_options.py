"""Every district command takes the same reading options as `roster`."""

from __future__ import annotations

import csv

import pytest
from conftest import ROOT

ROSTER = ROOT / "examples" / "roster" / "roster.csv"


@pytest.fixture
def with_extra_column(tmp_path):
    rows = list(csv.reader(ROSTER.open(encoding="utf-8")))
    path = tmp_path / "extra.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*rows[0], "备注"])
        writer.writerows([*row, "x"] for row in rows[1:50])
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["roster"],
        ["progress"],
        ["mobilise", "-o", "{out}"],
        ["impact", "--old", "measures.yaml", "--new", "measures.yaml"],
    ],
)
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
    assert {k: v for k, v in p_once.items() if k not in ("rows", "invalid_rows")} == p_twice
    assert len(kb.mobilise(twice)) == len(kb.mobilise(once))
