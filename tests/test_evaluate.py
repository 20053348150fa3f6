"""Evaluation of the example profiles, citations, towns, years and the measure status rule.

The expected statuses below were worked out by hand from docs/reading.md §5 for each example.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import policy_kb
from policy_kb import Status, UnknownNameError, YearError, read_profile

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
A, N, U = "applies", "does_not_apply", "undetermined"

EXPECTED = {
    "registered_hnte_first_above_scale": {
        "KM1.evaluation_mobilization": A,
        "KM2.hnte_priority": A,
        "KM2.first_above_scale_reward": A,
        "KM3.st_project_priority": A,
        "KM4.incubation_services": N,
        "KM5.hnte_income_tax": A,
        "KM5.tech_transfer_tax": A,
        "KM5.small_low_profit_tax": N,
        "KM6.tech_credit": A,
        "KM7.rd_super_deduction": A,
        "KM7.rd_growth_reward": A,
        "KM8.rd_platform_support": A,
        "KM9.shared_facilities": A,
        "KM1": A,
        "KM2": A,
        "KM3": A,
        "KM4": N,
        "KM5": A,
        "KM6": A,
        "KM7": A,
        "KM8": A,
        "KM9": A,
        "SM1": N,
        "SM2": N,
        "SM3": N,
    },
    "incubated_startup": {
        "KM1.evaluation_mobilization": A,
        "KM2.hnte_priority": N,
        "KM2.first_above_scale_reward": N,
        "KM3.st_project_priority": N,
        "KM4.incubation_services": A,
        "KM5.hnte_income_tax": N,
        "KM5.tech_transfer_tax": N,
        "KM5.small_low_profit_tax": A,
        "KM6.tech_credit": N,
        "KM7.rd_super_deduction": N,
        "KM7.rd_growth_reward": N,
        "KM8.rd_platform_support": N,
        "KM9.shared_facilities": N,
        "KM1": A,
        "KM2": N,
        "KM3": N,
        "KM4": A,
        "KM5": A,
        "KM6": N,
        "KM7": N,
        "KM8": N,
        "KM9": N,
        "SM1": N,
        "SM2": N,
        "SM3": N,
    },
    "small_low_profit": {
        "KM1.evaluation_mobilization": N,
        "KM2.hnte_priority": N,
        "KM2.first_above_scale_reward": N,
        "KM3.st_project_priority": N,
        "KM4.incubation_services": N,
        "KM5.hnte_income_tax": N,
        "KM5.tech_transfer_tax": N,
        "KM5.small_low_profit_tax": A,
        "KM6.tech_credit": N,
        "KM7.rd_super_deduction": N,
        "KM7.rd_growth_reward": N,
        "KM8.rd_platform_support": N,
        "KM9.shared_facilities": N,
        "KM1": N,
        "KM5": A,
        "KM7": N,
        "SM2": N,
    },
    "over_sme_limits": {
        "KM1.evaluation_mobilization": N,
        "KM2.hnte_priority": N,
        "KM2.first_above_scale_reward": N,
        "KM3.st_project_priority": N,
        "KM4.incubation_services": N,
        "KM5.hnte_income_tax": A,
        "KM5.tech_transfer_tax": A,
        "KM5.small_low_profit_tax": N,
        "KM6.tech_credit": A,
        "KM7.rd_super_deduction": N,
        "KM7.rd_growth_reward": A,
        "KM8.rd_platform_support": N,
        "KM9.shared_facilities": N,
        "KM1": N,
        "KM2": N,
        "KM5": A,
        "KM6": A,
        "KM7": A,
    },
    "half_unknown": {
        "KM1.evaluation_mobilization": U,
        "KM2.hnte_priority": U,
        "KM2.first_above_scale_reward": U,
        "KM3.st_project_priority": U,
        "KM4.incubation_services": N,
        "KM5.hnte_income_tax": U,
        "KM5.tech_transfer_tax": N,
        "KM5.small_low_profit_tax": U,
        "KM6.tech_credit": U,
        "KM7.rd_super_deduction": U,
        "KM7.rd_growth_reward": U,
        "KM8.rd_platform_support": U,
        "KM9.shared_facilities": U,
        "KM1": U,
        "KM2": U,
        "KM4": N,
        "KM5": U,
        "KM7": U,
        "SM1": N,
    },
}

HALF_UNKNOWN_MISSING = {
    "KM1.evaluation_mobilization": ["total_assets"],
    "KM2.hnte_priority": ["tech_sme_registered"],
    "KM2.first_above_scale_reward": ["hnte_valid", "first_time_above_scale"],
    "KM5.hnte_income_tax": ["hnte_valid"],
    "KM5.small_low_profit_tax": ["taxable_income", "total_assets"],
    "KM6.tech_credit": ["tech_sme_registered", "hnte_valid"],
    "KM7.rd_super_deduction": ["tech_sme_registered"],
    "KM7.rd_growth_reward": [
        "tech_sme_registered",
        "hnte_valid",
        "rd_deduction_claimed_prior_year",
        "rd_expense_prior_year",
    ],
}


def evaluate_example(kb, name: str):
    return kb.evaluate(read_profile(str(EXAMPLES / f"{name}.yaml")))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_statuses(kb, name):
    result = evaluate_example(kb, name)
    got = {id_: result.status(id_).value for id_ in EXPECTED[name]}
    assert got == EXPECTED[name]


def test_every_benefit_of_reading_md_appears_under_its_measure(kb):
    result = evaluate_example(kb, "half_unknown")
    found = {b.id: m.id for m in result.measures for b in m.benefits}
    assert found == {
        "KM1.evaluation_mobilization": "KM1",
        "KM2.hnte_priority": "KM2",
        "KM2.first_above_scale_reward": "KM2",
        "KM3.st_project_priority": "KM3",
        "KM4.incubation_services": "KM4",
        "KM5.hnte_income_tax": "KM5",
        "KM5.tech_transfer_tax": "KM5",
        "KM5.small_low_profit_tax": "KM5",
        "KM6.tech_credit": "KM6",
        "KM7.rd_super_deduction": "KM7",
        "KM7.rd_growth_reward": "KM7",
        "KM8.rd_platform_support": "KM8",
        "KM9.shared_facilities": "KM9",
    }


def test_half_unknown_names_exactly_the_missing_facts(kb):
    result = evaluate_example(kb, "half_unknown")
    for benefit_id, facts in HALF_UNKNOWN_MISSING.items():
        assert list(result.benefit(benefit_id).missing) == facts, benefit_id


def test_decided_benefits_have_nothing_missing(kb):
    result = evaluate_example(kb, "half_unknown")
    for b in result.benefits:
        if b.status is not Status.UNDETERMINED:
            assert b.missing == ()


def test_citations_are_verbatim_and_numbered(kb, source_text):
    result = evaluate_example(kb, "registered_hnte_first_above_scale")
    data = result.to_dict()
    numbers = {m["id"]: m["number"] for m in data["measures"]}
    assert numbers == {
        "KM1": "三(一)",
        "KM2": "三(二)",
        "KM3": "三(三)",
        "KM4": "三(四)",
        "KM5": "三(五)",
        "KM6": "三(六)",
        "KM7": "三(七)",
        "KM8": "三(八)",
        "KM9": "三(九)",
        "SM1": "四(一)",
        "SM2": "四(二)",
        "SM3": "四(三)",
    }
    for m in data["measures"]:
        assert m["citation"]["clause"] in source_text
        for b in m["benefits"]:
            cite = b["citation"]
            assert cite["number"] == m["number"]
            assert cite["text"] in cite["clause"]
            assert cite["text"] in source_text
    km7 = next(m for m in data["measures"] if m["id"] == "KM7")
    growth = next(b for b in km7["benefits"] if b["id"] == "KM7.rd_growth_reward")
    assert "研发费用年度增长20万元（含）以上" in growth["citation"]["text"]


def test_reasons_record_each_condition_with_facts_threshold_and_source(kb, measures_text):
    result = kb.evaluate(
        {
            "tech_sme_registered": True,
            "rd_deduction_claimed": True,
            "rd_deduction_claimed_prior_year": True,
            "rd_expense": 1_150_000,
            "rd_expense_prior_year": 1_000_000,
        }
    )
    benefit = next(
        b
        for m in result.to_dict()["measures"]
        for b in m["benefits"]
        if b["id"] == "KM7.rd_growth_reward"
    )
    assert benefit["status"] == N
    growth = benefit["reasons"][-1]
    assert growth["condition"] == "rd_expense_growth >= rd_growth_reward_min_increase"
    assert growth["outcome"] == "false"
    assert growth["facts"] == {
        "rd_expense_growth": 150000,
        "rd_expense": 1150000,
        "rd_expense_prior_year": 1000000,
    }
    assert growth["threshold"] == 200000
    assert growth["parameters"] == {"rd_growth_reward_min_increase": 200000}
    line = measures_text.splitlines()[growth["source"]["line"] - 1]
    assert "rd_expense_growth >= rd_growth_reward_min_increase" in line
    assert growth["source"]["clause"] == "三(七)"
    assert benefit["summary"] == "不适用：研发费用年度增长额 150,000 元，不满足 ≥ 200,000 元"
    assert [r["outcome"] for r in benefit["reasons"]] == ["true", "true", "true", "false"]


def test_english_summary(kb):
    result = kb.evaluate(
        {"employees": 600, "annual_revenue": 1, "total_assets": 1, "hnte_valid": True}
    )
    benefit = result.to_dict("en")["measures"][0]["benefits"][0]
    assert benefit["summary"] == "does not apply: SME size: no (Total employees 600, not ≤ 500)"


def test_safeguard_measures_never_apply_to_an_enterprise(kb):
    for name in EXPECTED:
        result = evaluate_example(kb, name)
        for sm in ("SM1", "SM2", "SM3"):
            assert result.status(sm) is Status.DOES_NOT_APPLY
            assert result.measure(sm).benefits == ()


def test_town_sm2_applies_with_the_target(kb):
    town = kb.town("湖塘镇")
    assert town.target == 50
    assert town.status("SM2") is Status.APPLIES
    assert {m.measure.id for m in town.measures if m.status is Status.APPLIES} == {"SM2"}
    sm2 = next(m for m in town.to_dict()["measures"] if m["id"] == "SM2")
    assert sm2["target"] == 50
    assert town.to_dict()["district"] == {"towns": 11, "total": 670, "rows_sum": 670}


def test_all_towns_and_the_total(kb):
    targets = {t.name: t.target for t in kb.towns}
    assert targets == {
        "高新区": 200,
        "西太湖": 100,
        "湖塘镇": 50,
        "牛塘镇": 50,
        "洛阳镇": 50,
        "雪堰镇": 50,
        "前黄镇": 50,
        "礼嘉镇": 50,
        "嘉泽镇": 10,
        "湟里镇": 50,
        "绿建区": 10,
    }
    assert sum(targets.values()) == kb.model.targets.total == 670


def test_unknown_town_suggests(kb):
    with pytest.raises(UnknownNameError) as info:
        kb.town("湖塘")
    assert info.value.render("en") == "unknown town '湖塘' (did you mean '湖塘镇'?)"
    assert str(info.value) == "未知的镇（开发区） '湖塘'（是否应为 '湖塘镇'？）"
    with pytest.raises(UnknownNameError) as info:  # pinyin in any case: the English name
        kb.town("hutang")
    assert info.value.render("en") == "unknown town 'hutang' (did you mean 'Hutang Town'?)"


def test_profile_town_carries_its_target(kb):
    data = kb.evaluate({"town": "嘉泽镇"}).to_dict()
    assert data["town"]["name"] == "嘉泽镇"
    assert data["town"]["target"] == 10


def test_year_defaults_to_the_policy_year(kb):
    assert kb.evaluate({}).year == 2021
    assert kb.evaluate({"year": 2022}).year == 2022
    assert kb.evaluate({}, year=2023).year == 2023


def test_parameter_values_follow_the_year(kb):
    rate = lambda y: kb.evaluate({}, year=y).parameters["rd_super_deduction_rate"].value  # noqa: E731
    assert (rate(2021), rate(2022), rate(2023)) == (175, 200, 200)


def test_year_without_parameters_is_refused(kb):
    with pytest.raises(YearError) as info:
        kb.evaluate({}, year=2016)
    message = info.value.render("en")
    assert message.startswith(
        "no value is in force in 2016 for sme_max_employees (SME condition – maximum employees (inclusive)): in force 2017 onwards"
    )
    assert (
        "The policy year is 2021; add a dated value to measures.yaml to evaluate 2016." in message
    )
    with pytest.raises(YearError) as raised:
        kb.evaluate({}, year=2028)
    assert re.search("slp_max_taxable_income", raised.value.render("en")), raised.value.render("en")


def test_other_years_say_the_policy_is_for_2021(kb):
    assert kb.evaluate({}, year=2022).to_dict()["notes"] == [
        "本政策为2021年政策；2022年按原文措施评价，参数取2022年有效值。"
    ]
    assert kb.evaluate({}).to_dict()["notes"] == []


def test_module_level_evaluate_uses_the_shipped_policy():
    result = policy_kb.evaluate({"tech_sme_registered": True})
    assert result.status("KM3.st_project_priority") is Status.APPLIES


def test_unknown_ids_are_named(kb):
    result = kb.evaluate({})
    with pytest.raises(UnknownNameError) as raised:
        result.status("KM7.rd_growth")
    assert (
        raised.value.render("en")
        == "unknown benefit 'KM7.rd_growth' (did you mean 'KM7.rd_growth_reward'?)"
    )
    with pytest.raises(UnknownNameError) as raised:
        result.status("KM10")
    assert re.search("unknown measure 'KM10'", raised.value.render("en")), raised.value.render("en")


def test_evaluations_are_independent(kb):
    first = kb.evaluate({"hnte_valid": True})
    kb.evaluate({"hnte_valid": False})
    assert first.status("KM5.hnte_income_tax") is Status.APPLIES
    assert first.profile.values == {"hnte_valid": True}
