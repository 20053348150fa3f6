"""Numbers and yes/no read as people mean them: the same in a profile, a roster and the HTTP API."""

from __future__ import annotations

import pytest

from policy_kb import ProfileError


@pytest.mark.parametrize(
    ("text", "fact", "got"),
    [
        ("employees: 0x10", "employees", "'0x10'"),
        ("employees: 1:30", "employees", "'1:30'"),
        ("hnte_valid: on", "hnte_valid", "'on'"),
        ("hnte_valid: yes", "hnte_valid", "'yes'"),
        ("hnte_valid: 1", "hnte_valid", "1"),
        ("employees: １２３", "employees", "'１２３'"),
        (
            "annual_revenue: 1000000000000000000000000000000",
            "annual_revenue",
            "1000000000000000000000000000000",
        ),
        ("rd_expense: 3.9e307", "rd_expense", "3.9e307"),
        ("taxable_income: -1e300", "taxable_income", "-1e300"),
        (
            "employees: 100000000000000000000000000000000",
            "employees",
            "100000000000000000000000000000000",
        ),
    ],
)
def test_a_value_outside_what_the_fact_can_be_is_refused_naming_it(cli, tmp_path, text, fact, got):
    path = tmp_path / "p.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    run = cli("match", str(path), "--lang", "en")
    assert run.returncode == 2, run.stdout
    assert "p.yaml:1:" in run.stderr
    assert f"{fact} (" in run.stderr
    assert f"got {got}" in run.stderr
    assert "Traceback" not in run.stderr
    assert "unexpected" not in run.stderr


def test_octal_looking_numbers_are_decimal(kb):
    from policy_kb.policy.profile import parse_profile_text

    raw = parse_profile_text("employees: 010\nname: 0123\n", "p.yaml")
    answer = kb.evaluate(raw)
    assert answer.profile.values == {"employees": 10, "name": "0123"}


@pytest.mark.parametrize(
    ("word", "value"), [("是", True), ("否", False), ("TRUE", True), (" false ", False)]
)
def test_yes_no_spellings_are_the_same_in_a_profile_and_a_roster(kb, tmp_path, word, value):
    answer = kb.evaluate({"hnte_valid": word})
    assert answer.profile.values["hnte_valid"] is value
    roster = tmp_path / "r.csv"
    roster.write_text(f"name,hnte_valid\nA,{word}\n", encoding="utf-8")
    run = kb.roster(roster, keep=True)
    assert run.summary.errors == []
    single = {b.id: b.status.value for b in answer.benefits}
    assert single["KM5.hnte_income_tax"] == ("applies" if value else "does_not_apply")
    assert {b: run.frames[0][b].to_list() for b in single} == {b: [s] for b, s in single.items()}


@pytest.mark.parametrize("word", ["yes", "on", "1", "有", "y"])
def test_other_spellings_are_refused_everywhere(kb, tmp_path, word):
    with pytest.raises(ProfileError) as raised:
        kb.evaluate({"hnte_valid": word})
    assert raised.value.facts == ("hnte_valid",)
    roster = tmp_path / "r.csv"
    roster.write_text(f"name,hnte_valid\nA,{word}\n", encoding="utf-8")
    run = kb.roster(roster)
    (error,) = run.summary.errors
    assert error.facts == ("hnte_valid",)
    assert "是 or 否" in error.render("en")


def test_a_roster_names_the_fact_of_full_width_digits_and_huge_numbers(kb, tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text(
        "name,employees,annual_revenue\nA,１２３,5\nB,5,1000000000000000000000000000000\n",
        encoding="utf-8",
    )
    run = kb.roster(roster)
    first, second = run.summary.errors
    assert first.facts == ("employees",)
    assert "'１２３'" in first.render("en")
    assert second.facts == ("annual_revenue",)
    assert "got 1000000000000000000000000000000" in second.render("en")


def test_numpy_and_pandas_scalars_read_as_their_values(kb):
    np = pytest.importorskip("numpy")
    answer = kb.evaluate(
        {"employees": np.int64(5), "annual_revenue": np.float64(1e6), "rd_expense": float("nan")}
    )
    assert answer.profile.values == {"employees": 5, "annual_revenue": 1e6}


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_5000_digit_number_is_refused_in_words_not_with_a_python_setting(cli, tmp_path, suffix):
    path = tmp_path / f"profile{suffix}"
    digits = "9" * 5000
    path.write_text(
        f'{{"annual_revenue": {digits}}}' if suffix == ".json" else f"annual_revenue: {digits}",
        encoding="utf-8",
    )
    run = cli("match", str(path), "--lang", "en")
    assert run.returncode == 2
    assert (
        "a number with 5000 digits is not a figure anyone typed (at most 40 digits)" in run.stderr
    )
    assert "set_int_max_str_digits" not in run.stderr
    assert "Traceback" not in run.stderr


def test_the_column_engine_rounds_to_the_fen_or_sends_the_row_to_exact_decimals():
    """Amounts in thousandths of a yuan: every half fen is sent to exact rounding, every other
    amount is rounded half up by floats exactly as Decimal rounds the written number."""
    from decimal import ROUND_HALF_UP, Decimal

    import numpy as np

    from policy_kb.backends.columns import _fen_and_near_half

    rng = np.random.default_rng(7)
    thousandths = rng.integers(-(10**12), 10**12, size=20_000)
    thousandths[:10] = [0, 5, -5, 15, 25, 1005, -995, 999_999_995, 10**12 - 5, 4]
    amounts = thousandths / 1000
    fen, near = _fen_and_near_half(amounts)
    halves = np.flatnonzero(np.abs(thousandths) % 10 == 5)
    assert set(halves.tolist()) <= set(near.tolist())
    assert len(near) < len(halves) + 20  # only the halves (and a few neighbours) are sent on
    for i in np.setdiff1d(np.arange(len(amounts)), near).tolist():
        written = Decimal(int(thousandths[i])) / 1000
        assert fen[i] == float(written.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)), i
