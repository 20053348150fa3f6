"""A policy file that cannot silently lose its meaning: the validator checks it against the text."""

from __future__ import annotations

from pathlib import Path

from test_loader import SHIPPED, at, plant, problems_of

import policy_kb


def test_a_deleted_measure_is_named_from_the_source_text(tmp_path: Path, cli):
    start, end = SHIPPED.index("  - id: KM9"), SHIPPED.index("  - id: SM1")
    path = tmp_path / "measures.yaml"
    path.write_text(SHIPPED[:start] + SHIPPED[end:], encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert problems_of(path) == [
        f"{at(path, text, 'number: 三', offset=0)}: the source text has clause 三(九) "
        "'推动科技资源开放集聚共享' under '三、重点举措', but no measure has number: 三(九) "
        "(deleting a measure silently loses part of the policy) (write a measure with an id "
        "starting with KM and number: 三(九))"
    ]
    run = cli("validate", str(path))
    assert run.returncode == 2
    assert "原文「三、重点举措」有第 三(九) 条「推动科技资源开放集聚共享」" in run.stderr


def test_a_figure_written_in_a_condition_must_be_a_parameter(tmp_path: Path):
    old = "- rd_expense_growth >= rd_growth_reward_min_increase"
    path, text = plant(tmp_path, (old, "- rd_expense_growth >= 200000"))
    (problem,) = problems_of(path)
    where = at(path, text, "rd_expense_growth >= 200000", offset=21)
    assert problem.startswith(f"{where}: 'rd_expense_growth >= 200000' ")
    assert "writes the figure 200000 itself" in problem
    assert "declare it under parameters:" in problem


def test_zero_and_one_are_not_figures(kb):
    assert "- rd_expense > 0\n" in SHIPPED  # a sign test, and `rate - 1`: no figure of the text
    assert "rd_super_deduction_rate - 1)" in SHIPPED
    assert len(kb.model.benefits) == 13  # and the shipped file loads


def test_a_rate_typed_as_a_fraction_is_caught(tmp_path: Path):
    path, text = plant(tmp_path, ("        value: 175\n", "        value: 1.75\n"))
    assert problems_of(path) == [
        f"{at(path, text, '1.75')}: the value 1.75 of parameter rd_super_deduction_rate is outside "
        "its plausible range (100–1000 %; a percentage is written as a percent, 175 for 175 %)"
    ]


def test_a_percentage_without_a_range_lies_between_0_and_100(tmp_path: Path):
    start = SHIPPED.index("  hnte_income_tax_rate:")
    value = SHIPPED.index("value: ", start)
    end = SHIPPED.index("\n", value)
    old = SHIPPED[start : end + 1]
    new = old[: value - start] + "value: 150\n"
    path, _text = plant(tmp_path, (old, new))
    (problem,) = problems_of(path)
    assert "the value 150 of parameter hnte_income_tax_rate is outside its plausible range" in (
        problem
    )
    assert "(0–100 %" in problem


def test_a_strict_comparison_on_an_inclusive_bound_is_an_error(tmp_path: Path):
    old = "- rd_expense_growth >= rd_growth_reward_min_increase"
    path, text = plant(tmp_path, (old, "- rd_expense_growth > rd_growth_reward_min_increase"))
    assert problems_of(path) == [
        f"{at(path, text, 'rd_expense_growth > ')}: 'rd_expense_growth > "
        "rd_growth_reward_min_increase' is a strict comparison, but the text of parameter "
        "rd_growth_reward_min_increase ('研发费用年度增长20万元（含）以上') includes the bound itself "
        "(write >=)"
    ]


def test_an_inclusive_bound_under_not_is_read_as_its_complement(tmp_path: Path):
    """'not growth < bound' keeps the bound (it is growth >= bound) and was refused, with advice
    to write 'not growth <= bound', which drops it and passed (found by a policy-officer review)."""
    old = "- rd_expense_growth >= rd_growth_reward_min_increase"
    kept = "- not rd_expense_growth < rd_growth_reward_min_increase"
    path, _text = plant(tmp_path, (old, kept))
    assert policy_kb.load(path).model.benefits["KM7.rd_growth_reward"] is not None
    dropped = "- not rd_expense_growth <= rd_growth_reward_min_increase"
    path, text = plant(tmp_path, (old, dropped))
    assert problems_of(path) == [
        f"{at(path, text, 'not rd_expense_growth <= ')}: 'not rd_expense_growth <= "
        "rd_growth_reward_min_increase' is a strict comparison, but the text of parameter "
        "rd_growth_reward_min_increase ('研发费用年度增长20万元（含）以上') includes the bound itself "
        "(write <)"
    ]


def test_an_inclusive_quote_needs_inclusive_declared(tmp_path: Path):
    path, text = plant(
        tmp_path, ("    inclusive: true      # 原文「（含）以上」：条件中只能写 >=\n", "")
    )
    assert problems_of(path) == [
        f"{at(path, text, '研发费用年度增长20万元（含）以上')}: the quote of parameter "
        "rd_growth_reward_min_increase says '（含）', so the bound itself is included: write "
        "inclusive: true (inclusive: true, and compare it with <= or >= in conditions)"
    ]


def test_a_deleted_benefit_leaves_its_grant_uncovered(tmp_path: Path, cli):
    start = SHIPPED.index("      - id: KM7.rd_growth_reward")
    end = SHIPPED.index("  - id: KM8")
    path = tmp_path / "measures.yaml"
    path.write_text(SHIPPED[:start] + SHIPPED[end:], encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    where = at(path, text, "text: 对通过评价的科技型中小企业", offset=6)
    found = problems_of(path)
    assert f"{where}: the text of measure KM7 grants something with '奖励' at " in found[0]
    assert "but no benefit's quote covers that place" in found[0]
    assert any("with '加计扣除'" in p for p in found)  # its condition's words are uncovered too
    run = cli("validate", str(path))
    assert run.returncode == 2
    assert "措施 KM7 的原文在「…" in run.stderr
    assert "处以「奖励」给予待遇，但没有任何待遇的 quote 包含这一处" in run.stderr


def test_a_quote_shortened_away_from_its_grant_is_caught(tmp_path: Path):
    old = "        quote: 对于首次上规升级的高新技术企业，首次上规当年对地方贡献的增量部分全部奖励给企业。"
    path, _ = plant(tmp_path, (old, "        quote: 对于首次上规升级的高新技术企业"))
    (problem,) = problems_of(path)
    assert "measure KM2 grants something with '奖励'" in problem


def test_deleting_any_one_benefit_is_an_error(tmp_path: Path):
    import re

    starts = [m.start() for m in re.finditer(r"^      - id: KM\d\.\w+", SHIPPED, re.M)]
    ends = [m.start() for m in re.finditer(r"^  - id: ", SHIPPED, re.M)]
    assert len(starts) == 13
    for start in starts:
        benefit = SHIPPED[start:].split()[2]
        stop = min([x for x in starts + ends if x > start] + [len(SHIPPED)])
        path = tmp_path / "measures.yaml"
        path.write_text(SHIPPED[:start] + SHIPPED[stop:], encoding="utf-8")
        assert problems_of(path), f"deleting {benefit} went unnoticed"


def test_a_shared_quote_names_what_each_benefit_grants(tmp_path: Path):
    old = "        grants: 技术开发及技术转让增值税和所得税减免"
    path, text = plant(tmp_path, (old, "        grants: 技术转让所得税减免"))
    found = problems_of(path)
    assert (
        f"{at(path, text, 'grants: 技术转让所得税减免', offset=8)}: grants '技术转让所得税减免' of "
        "benefit KM5.tech_transfer_tax is not inside its quote (words that occur "
        "verbatim in the quote)"
    ) in found
