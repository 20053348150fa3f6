"""The engine against an independent reading of docs/reading.md §4–§5, on generated profiles.

The oracle below restates the contract in plain Python with Kleene logic and the figures as
docs/reading.md prints them. It shares no code with policy_kb: if the measures.yaml encoding or the
engine drifted from the contract, the two would disagree on some generated profile.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy_kb

Tri = bool | None


def AND(*xs: Tri) -> Tri:
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def OR(*xs: Tri) -> Tri:
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def NOT(x: Tri) -> Tri:
    return None if x is None else not x


def cmp(value: Any, test) -> Tri:
    return None if value is None else test(value)


def oracle(p: dict[str, Any]) -> dict[str, str]:
    g = p.get
    sme = AND(
        cmp(g("employees"), lambda v: v <= 500),
        cmp(g("annual_revenue"), lambda v: v <= 200_000_000),
        cmp(g("total_assets"), lambda v: v <= 200_000_000),
    )
    registered = g("tech_sme_registered")
    slp = AND(
        cmp(g("taxable_income"), lambda v: v <= 3_000_000),
        cmp(g("employees"), lambda v: v <= 300),
        cmp(g("total_assets"), lambda v: v <= 50_000_000),
        NOT(g("restricted_industry")),
    )
    rd, prior = g("rd_expense"), g("rd_expense_prior_year")
    if rd is not None and prior is not None:
        growth: Tri = rd - prior >= 200_000
    elif rd is not None and rd < 200_000:
        growth = False  # last year's expenses are ≥ 0, so the growth is at most this year's
    else:
        growth = None
    b = {
        "KM1.evaluation_mobilization": AND(
            sme,
            OR(
                g("hnte_valid"),
                g("hnte_cultivation_pool"),
                g("hnte_applicant"),
                g("cultivation_pool_applicant"),
                g("talent_program"),
                g("incubated"),
            ),
        ),
        "KM2.hnte_priority": registered,
        "KM2.first_above_scale_reward": AND(g("hnte_valid"), g("first_time_above_scale")),
        "KM3.st_project_priority": registered,
        "KM4.incubation_services": g("incubated"),
        "KM5.hnte_income_tax": g("hnte_valid"),
        "KM5.tech_transfer_tax": cmp(g("tech_transfer_income"), lambda v: v > 0),
        "KM5.small_low_profit_tax": slp,
        "KM6.tech_credit": OR(registered, g("hnte_valid")),
        "KM7.rd_super_deduction": AND(registered, cmp(rd, lambda v: v > 0)),
        "KM7.rd_growth_reward": AND(
            OR(registered, g("hnte_valid")),
            g("rd_deduction_claimed"),
            g("rd_deduction_claimed_prior_year"),
            growth,
        ),
        "KM8.rd_platform_support": registered,
        "KM9.shared_facilities": registered,
    }
    word = {True: "applies", False: "does_not_apply", None: "undetermined"}
    out = {k: word[v] for k, v in b.items()}
    for m in range(1, 10):
        mine = [v for k, v in b.items() if k.startswith(f"KM{m}.")]
        out[f"KM{m}"] = (
            word[True]
            if True in mine
            else (word[False] if all(v is False for v in mine) else word[None])
        )
    for m in range(1, 4):
        out[f"SM{m}"] = "does_not_apply"
    return out


BOOLS = [
    "hnte_valid",
    "hnte_cultivation_pool",
    "hnte_applicant",
    "cultivation_pool_applicant",
    "talent_program",
    "incubated",
    "tech_sme_registered",
    "first_time_above_scale",
    "restricted_industry",
    "rd_deduction_claimed",
    "rd_deduction_claimed_prior_year",
    "serious_violation",
    "registered_in_mainland",
]
NUMBERS = {
    "employees": [0, 1, 299, 300, 301, 499, 500, 501, 2000],
    "annual_revenue": [0, 49_999_999, 199_999_999, 200_000_000, 200_000_001, 900_000_000],
    "total_assets": [0, 49_999_999, 50_000_000, 50_000_001, 199_999_999, 200_000_000, 200_000_001],
    "taxable_income": [-500_000, 0, 2_999_999, 3_000_000, 3_000_001, 40_000_000],
    "rd_expense": [0, 1, 1_000_000, 1_199_999, 1_200_000, 1_200_001, 1_200_000.5],
    "rd_expense_prior_year": [0, 999_999, 1_000_000, 1_000_001],
    "tech_transfer_income": [0, 0.5, 1, 5_000_000],
}


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for fact in BOOLS:
        value = draw(st.sampled_from([True, False, None, None]))
        if value is not None:
            profile[fact] = value
    for fact, values in NUMBERS.items():
        value = draw(st.one_of(st.none(), st.sampled_from(values)))
        if value is not None:
            profile[fact] = value
    return profile


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_engine_agrees_with_the_reading_of_the_contract(profile):
    result = policy_kb.evaluate(profile)
    assert result.statuses() == oracle(profile), profile


@settings(max_examples=300, deadline=None)
@given(profiles())
def test_missing_facts_are_absent_and_would_matter(profile):
    """Every missing fact is absent from the profile, and supplying it can change the answer."""
    result = policy_kb.evaluate(profile)
    for b in result.benefits:
        if b.status.value != "undetermined":
            assert b.missing == ()
            continue
        assert b.missing, b.id
        for fact in b.missing:
            assert fact not in profile
        # supplying every missing fact settles the benefit one way or the other
        for fill in (_fill(b.missing, low=True), _fill(b.missing, low=False)):
            settled = policy_kb.evaluate({**profile, **fill}).benefit(b.id).status.value
            assert settled != "undetermined", (b.id, profile, fill)


def _fill(facts: tuple[str, ...], *, low: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for fact in facts:
        if fact in NUMBERS:
            values[fact] = NUMBERS[fact][0] if low else NUMBERS[fact][-2]
        else:
            values[fact] = not low
    return values
