"""Sentences and values as people read them."""

from __future__ import annotations

import pytest

from policy_kb import Status
from policy_kb.text import close_matches, did_you_mean, format_value
from policy_kb.views.words import benefit_summary, status_word


@pytest.mark.parametrize(
    ("value", "unit", "lang", "text"),
    [
        (1200000, "元", "zh", "1,200,000 元"),
        (1200000, "元", "en", "CNY 1,200,000"),
        (1200000.0, "元", "zh", "1,200,000 元"),
        (1200000.5, "元", "zh", "1,200,000.50 元"),
        (120, "人", "zh", "120 人"),
        (120, "人", "en", "120"),
        (175, "%", "en", "175%"),
        (True, None, "zh", "是"),
        (False, None, "en", "no"),
        (None, "元", "zh", "未知"),
        (None, None, "en", "unknown"),
    ],
)
def test_format_value(value, unit, lang, text):
    assert format_value(value, unit, lang) == text


def test_status_words():
    assert [status_word(s, "zh") for s in Status] == ["适用", "不适用", "待定"]
    assert [status_word(s, "en") for s in Status] == ["applies", "does not apply", "undetermined"]


def test_did_you_mean():
    hint = did_you_mean("employes", ["employees", "tech_staff"])
    assert hint is not None
    assert (hint.render("en"), hint.render("zh")) == (
        "did you mean 'employees'?",
        "是否应为 'employees'？",
    )
    assert did_you_mean("zzz", ["employees"]) is None
    assert close_matches("EMPLOYEES", ["employees"]) == ["employees"]


def test_summaries_in_both_languages(kb):
    result = kb.evaluate(
        {"employees": 301, "taxable_income": 10, "total_assets": 10, "restricted_industry": False}
    )
    b = result.benefit("KM5.small_low_profit_tax")
    assert (
        benefit_summary(b, kb.model, "zh")
        == "不适用：不属于小型微利企业（职工总数 301 人，不满足 ≤ 300 人）"
    )
    assert (
        benefit_summary(b, kb.model, "en")
        == "does not apply: Small low-profit enterprise: no (Total employees 301, not ≤ 300)"
    )
