"""The pre-check, estimates, years and near misses as users see them (issue 4)."""

from __future__ import annotations

import json

import pytest

from policy_kb import read_profile

REGISTERED_UNKNOWN = {
    "registered_in_mainland": True,
    "employees": 60,
    "tech_staff": 20,
    "annual_revenue": 8_000_000,
    "total_assets": 6_000_000,
    "total_costs": 7_000_000,
    "restricted_industry": False,
    "serious_violation": False,
    "hnte_valid": False,
    "national_award_top3": False,
    "provincial_rd_institution": False,
    "led_standard": False,
    "rd_expense": 500_000,
    "ip_class1": 1,
}


def test_benefits_say_they_would_apply_once_registered(kb):
    result = kb.evaluate(REGISTERED_UNKNOWN)
    assert result.precheck.qualifies is True
    data = result.to_dict()
    km3 = next(
        b for m in data["measures"] for b in m["benefits"] if b["id"] == "KM3.st_project_priority"
    )
    assert km3["status"] == "undetermined"
    assert km3["would_apply_once_registered"] is True
    assert km3["reasons"][-1]["kind"] == "precheck"
    assert (
        km3["reasons"][-1]["text"]
        == "预检显示可通过科技型中小企业评价：取得当年入库登记编号后即可适用"
    )
    assert sorted(result.once_registered) == [
        "KM2.hnte_priority",
        "KM3.st_project_priority",
        "KM6.tech_credit",
        "KM7.rd_super_deduction",
        "KM8.rd_platform_support",
        "KM9.shared_facilities",
    ]


def test_no_registration_note_when_the_precheck_fails(kb):
    result = kb.evaluate({**REGISTERED_UNKNOWN, "tech_staff": 1})
    assert result.precheck.qualifies is False
    assert result.once_registered == frozenset()


def test_every_benefit_that_does_not_apply_in_the_examples_has_a_near_miss(kb, root):
    for path in sorted((root / "examples").glob("*.yaml")):
        data = kb.evaluate(read_profile(str(path))).to_dict()
        for m in data["measures"]:
            for b in m["benefits"]:
                if b["status"] == "does_not_apply":
                    assert b["near_misses"], (path.name, b["id"])
                    assert all(n["text"] for n in b["near_misses"])
                else:
                    assert b["near_misses"] == []


def test_near_miss_gap_in_the_facts_unit(kb):
    profile = {
        "tech_sme_registered": True,
        "rd_deduction_claimed": True,
        "rd_deduction_claimed_prior_year": True,
        "rd_expense": 1_150_000,
        "rd_expense_prior_year": 1_000_000,
    }
    en = kb.evaluate(profile).to_dict("en")
    growth = next(
        b for m in en["measures"] for b in m["benefits"] if b["id"] == "KM7.rd_growth_reward"
    )
    (gap,) = growth["near_misses"]
    assert gap["gap"] == 50000
    assert gap["direction"] == "short"
    assert (
        gap["text"]
        == "Year-on-year increase of R&D expenses CNY 150,000, needs ≥ CNY 200,000: CNY 50,000 short"
    )
    zh = kb.evaluate(profile).to_dict()
    growth = next(
        b for m in zh["measures"] for b in m["benefits"] if b["id"] == "KM7.rd_growth_reward"
    )
    assert (
        growth["near_misses"][0]["text"]
        == "研发费用年度增长额 150,000 元，需 ≥ 200,000 元：差 50,000 元"
    )


def test_near_miss_over_a_limit(kb):
    data = kb.evaluate(
        {"employees": 1350, "annual_revenue": 1, "total_assets": 1, "hnte_valid": True}
    ).to_dict()
    gaps = data["measures"][0]["benefits"][0]["near_misses"]
    assert [g["text"] for g in gaps] == ["职工总数 1,350 人，需 ≤ 500 人：超出 850 人"]


def test_strict_bound_gap_is_one_unit(kb):
    data = kb.evaluate({"tech_sme_registered": True, "rd_expense": 0}).to_dict()
    km7 = next(m for m in data["measures"] if m["id"] == "KM7")
    assert km7["benefits"][0]["near_misses"][0]["gap"] == 1


def test_to_supply_orders_the_facts_that_settle_most_first(kb):
    order = [s["fact"] for s in kb.evaluate({}).to_dict()["to_supply"]]
    assert order[:2] == ["tech_sme_registered", "hnte_valid"]


def test_year_2022_changes_the_rate_and_the_bands(cli):
    base = {
        "tech_sme_registered": True,
        "rd_expense": 1_000_000,
        "taxable_income": 1_600_000,
        "employees": 50,
        "total_assets": 10_000_000,
        "restricted_industry": False,
    }
    answers = {}
    for year in ("2021", "2022"):
        result = cli("match", "-", "--format", "json", "--year", year, stdin=json.dumps(base))
        assert result.returncode == 0, result.stderr
        answers[year] = json.loads(result.stdout)

    def benefit(data, id_):
        return next(b for m in data["measures"] for b in m["benefits"] if b["id"] == id_)

    rate = {
        y: benefit(d, "KM7.rd_super_deduction")["parameters"][0]["value"]
        for y, d in answers.items()
    }
    assert rate == {"2021": 175, "2022": 200}
    deduction = {
        y: benefit(d, "KM7.rd_super_deduction")["estimate"]["amount"] for y, d in answers.items()
    }
    assert deduction == {"2021": 750000, "2022": 1000000}
    slp = {
        y: benefit(d, "KM5.small_low_profit_tax")["estimate"]["amount"] for y, d in answers.items()
    }
    assert slp == {"2021": 315000, "2022": 345000}
    assert answers["2022"]["notes"] == [
        "本政策为2021年政策；2022年按原文措施评价，参数取2022年有效值。"
    ]


def test_unsupported_year_is_refused_clearly(cli):
    result = cli("match", "-", "--year", "2030", "--lang", "en", stdin="{}")
    assert result.returncode == 2
    assert result.stderr.startswith("no value is in force in 2030 for slp_max_taxable_income")
    assert "add a dated value to measures.yaml to evaluate 2030" in result.stderr


def test_precheck_command(cli):
    result = cli("precheck", "examples/incubated_startup.yaml")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "企业：常州星禾智能科技有限公司 · 评价年度：2021"
    assert lines[1] == "科技型中小企业评价预检：✔ 可通过评价（总分 88 分）"
    assert "  科技人员 20 分（满分 20）：科技人员数 / 职工总数 = 64.3% → 20 分" in lines
    data = json.loads(cli("precheck", "examples/incubated_startup.yaml", "--format", "json").stdout)
    assert (data["qualifies"], data["route"], data["score"], data["scores"]) == (
        True,
        "score",
        88,
        {"tech_staff": 20, "rd": 50, "ip": 18},
    )


def test_precheck_smallest_change_in_english(cli):
    profile = {**REGISTERED_UNKNOWN, "tech_staff": 5, "employees": 60, "ip_class1": 1}
    data = json.loads(
        cli("precheck", "-", "--format", "json", "--lang", "en", stdin=json.dumps(profile)).stdout
    )
    assert data["qualifies"] is False
    assert data["smallest_change"]["text"] == (
        "1 more Science and technology staff (5 → 6) → Tech staff 10.0% → 4 points → score 84: qualifies"
    )


def test_table_shows_the_scorecard_estimates_and_gaps(cli):
    out = cli("match", "examples/registered_hnte_first_above_scale.yaml").stdout
    assert "科技型中小企业评价预检：✔ 可通过评价（满足直接认定条件，无须评分）" in out
    assert "      估算：少缴税额 1,150,000 元" in out
    assert "      差距：应纳税所得额 11,500,000 元，需 ≤ 3,000,000 元：超出 8,500,000 元" in out
    assert (
        "估算合计（适用的待遇）：奖励资金 2,100,000 元 · 税前加计扣除额 5,400,000 元 · 少缴税额 1,270,000 元"
        in out
    )


def test_estimate_shows_formula_and_inputs(kb):
    data = kb.evaluate({"hnte_valid": True, "taxable_income": 11_500_000}).to_dict()
    estimate = next(
        b for m in data["measures"] for b in m["benefits"] if b["id"] == "KM5.hnte_income_tax"
    )["estimate"]
    assert estimate == {
        "amount": 1150000,
        "currency": "CNY",
        "kind": "tax_saving",
        "formula": "max(0, taxable_income) * (standard_income_tax_rate - hnte_income_tax_rate)",
        "formula_text": "取较大值（0，应纳税所得额） × (企业所得税基本税率 − 高新技术企业所得税优惠税率)",
        "inputs": {
            "taxable_income": 11500000,
            "standard_income_tax_rate": 0.25,
            "hnte_income_tax_rate": 0.15,
        },
        "input_texts": [
            "应纳税所得额 = 11,500,000 元",
            "企业所得税基本税率 = 25%",
            "高新技术企业所得税优惠税率 = 15%",
        ],
        "conditional": False,
        "conflicts_with": [],
        "counted_in_total": True,
        "note": None,
    }


def test_formula_words_bracket_where_the_order_needs_it(kb):
    data = kb.evaluate({"tech_sme_registered": True, "rd_expense": 1_000_000}).to_dict("en")
    estimate = next(
        b for m in data["measures"] for b in m["benefits"] if b["id"] == "KM7.rd_super_deduction"
    )["estimate"]
    assert estimate["formula_text"] == (
        "R&D expenses this year × (R&D super-deduction rate (including the actual expense) − 1)"
    )
    assert estimate["input_texts"] == [
        "R&D expenses this year = CNY 1,000,000",
        "R&D super-deduction rate (including the actual expense) = 175%",
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_growth_reward_says_why_there_is_no_amount(kb, lang):
    data = kb.evaluate({}).to_dict(lang)
    growth = next(
        b for m in data["measures"] for b in m["benefits"] if b["id"] == "KM7.rd_growth_reward"
    )
    assert growth["estimate"] is None
    assert "常办发〔2021〕1号" in growth["estimate_note"]


HNTE_NO_INCOME = {"hnte_valid": True, "employees": 10}  # its tax relief applies, of no known amount


def test_an_amount_not_known_yet_is_counted_apart_from_the_total_never_as_zero(kb, cli, tmp_path):
    """The HNTE income-tax relief applies, but its amount needs the taxable income: the total
    of tax savings is not 0, it is unknown, and every view says how many amounts it lacks."""
    ev = kb.evaluate(HNTE_NO_INCOME)
    assert ev.status("KM5.hnte_income_tax") == "applies"
    assert ev.estimate("KM5.hnte_income_tax").amount is None
    assert "tax_saving" not in ev.totals()
    assert ev.unknown_amounts() == {"tax_saving": 1}
    for detail in ("full", "summary"):
        estimates = json.loads(ev.to_bytes("en", detail=detail))["estimates"]
        assert estimates["unknown_by_kind"] == {"tax_saving": 1}
        assert "tax_saving" not in estimates["total_by_kind"]
    profile = tmp_path / "p.yaml"
    profile.write_text("hnte_valid: true\nemployees: 10\n", encoding="utf-8")
    assert "少缴税额 金额未知（1 项适用的待遇无法估算金额）" in cli("match", str(profile)).stdout
    en = cli("match", str(profile), "--lang", "en").stdout
    assert "tax saving amount unknown (1 that apply have no amount that can be worked out)" in en
    # the benefit's own lines say why its amount is unknown, as the JSON's estimate_note does
    assert "      估算：金额未知（缺少应纳税所得额，无法估算）" in cli("match", str(profile)).stdout
    assert "      estimate: amount unknown (needs Taxable income)" in en
    # with a known amount of the same kind beside it, the known sum is the least
    profile.write_text(
        "hnte_valid: true\nemployees: 10\ntech_transfer_income: 1000000\n", encoding="utf-8"
    )
    both = kb.evaluate(read_profile(str(profile)))
    assert both.totals() == {"tax_saving": 150_000}
    assert both.unknown_amounts() == {"tax_saving": 1}
    assert "少缴税额 至少 150,000 元（另有 1 项适用的待遇金额未知，未计入）" in (
        cli("match", str(profile)).stdout
    )


def test_an_estimate_parameter_that_ends_before_the_year_gives_no_amount_not_a_crash(tmp_path):
    """A rate that stops at 2021-12-31 crashed `match --year 2022` and the HTTP service
    (TypeError inside the estimate; found by a hostile-input review): the benefit is answered,
    its amount is unknown, and the note names the parameter with no value."""
    from pathlib import Path

    import policy_kb

    root = Path(__file__).resolve().parent.parent
    text = (root / "measures.yaml").read_text("utf-8")
    old = "      - from: 2008-01-01\n        value: 50\n"
    assert text.count(old) == 1
    edited = tmp_path / "measures.yaml"
    edited.write_text(text.replace(old, old + "        until: 2021-12-31\n"), "utf-8")
    kb = policy_kb.load(edited)
    profile = read_profile(root / "examples" / "registered_hnte_first_above_scale.yaml")  # a Path
    answer = kb.evaluate(profile, year=2022)
    assert answer.status("KM5.tech_transfer_tax").value == "applies"
    estimate = answer.estimates["KM5.tech_transfer_tax"]
    assert estimate.amount is None
    assert (estimate.reason, estimate.parameter) == ("no_parameter", "tech_transfer_taxed_share")
    assert "2022年无有效的参数" in json.dumps(answer.to_dict("zh"), ensure_ascii=False)
    assert kb.evaluate(profile, year=2021).estimates["KM5.tech_transfer_tax"].amount is not None
