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


def test_the_column_engine_rounds_to_the_fen_or_leaves_the_row_to_exact_decimals(kb):
    """R&D expenses in thousandths of a yuan (not whole: no exact program): every amount that
    lies on a half fen is left undecided, for the per-profile engine; every other amount is
    rounded half up by doubles exactly as Decimal rounds the written number; and the kernel's
    answers (undecided rows settled) equal the per-profile engine's on every row."""
    from decimal import ROUND_HALF_UP, Decimal

    import numpy as np
    import pyarrow as pa

    from policy_kb.backends.columns import columns_from_values, evaluate_columns

    rng = np.random.default_rng(7)
    thousandths = rng.integers(1, 10**12, size=4_000)
    # 0.75 × x thousandths is a half fen when 3x ≡ 20 (mod 40): plant some of each kind
    thousandths[:6] = [20, 60, 1_000, 2_020, 999_999_980, 4]
    rd = (thousandths / 1000).tolist()
    n = len(rd)
    columns = columns_from_values(
        kb.model, n, {"rd_expense": rd, "tech_sme_registered": [True] * n}
    )
    result = evaluate_columns(kb.model, columns, kb.parameters_for_year(2021))
    amounts = result.estimates["KM7.rd_super_deduction"]
    exact = [Decimal(int(t)) / 1000 * Decimal("0.75") for t in thousandths.tolist()]
    halves = {i for i, e in enumerate(exact) if (e * 100) % 1 == Decimal("0.5")}
    undecided = set(np.flatnonzero(result.undecided).tolist())
    assert len(halves) >= 50
    assert halves <= undecided
    assert len(undecided) < len(halves) + 20  # only the halves (and a few neighbours) are left
    for i in set(range(n)) - undecided:
        written = exact[i].quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert amounts[i] == float(written), i
    # the kernel settles the undecided rows with the per-profile engine
    batch = pa.RecordBatch.from_pydict(
        {"rd_expense": pa.array(rd), "tech_sme_registered": pa.array([True] * n)}
    )
    out = kb.evaluate_arrow(batch).column("estimate:KM7.rd_super_deduction").to_pylist()
    for i in sorted(halves)[:40] + list(range(40)):
        one = kb.evaluate({"rd_expense": rd[i], "tech_sme_registered": True})
        assert out[i] == float(one.estimates["KM7.rd_super_deduction"].amount), i


def test_a_rate_is_written_as_printed_whatever_its_number_type():
    """25 % and 2.5 % side by side in one answer: never "2.50%" next to "25%"."""
    from decimal import Decimal
    from fractions import Fraction

    from policy_kb.text import format_value

    shown = [format_value(v, "%", "zh") for v in (25, 2.5, Decimal("2.50"), Fraction(5, 2), 12.345)]
    assert shown == ["25%", "2.5%", "2.5%", "2.5%", "12.35%"]
    assert format_value(1234.5, "元", "zh") == "1,234.50 元"  # money keeps its fen
