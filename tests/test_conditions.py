"""The condition language: what it accepts, what it refuses (with which words), and Kleene logic."""

from __future__ import annotations

import itertools

import pytest

import policy_kb
from policy_kb import ConditionSyntaxError, Location
from policy_kb.backends.trace import Record, evaluate_tree, unknown_facts
from policy_kb.rules.parse import (
    BOOL,
    NUMBER,
    TEXT,
    Scope,
    ValueType,
    parse_condition,
    parse_expression,
)
from policy_kb.rules.tree import AllOf, AnyOf, Arith, CategoryRef, Comparison, Flag, NotOf
from policy_kb.rules.walk import facts_in

YUAN = ValueType("number", "元")
PEOPLE = ValueType("number", "人")
AT = Location("measures.yaml", 10, 7)

SCOPE = Scope(
    facts={
        "employees": PEOPLE,
        "tech_staff": PEOPLE,
        "rd_expense": YUAN,
        "rd_expense_prior_year": YUAN,
        "rd_growth": YUAN,
        "hnte_valid": BOOL,
        "incubated": BOOL,
        "town": TEXT,
        "ratio": NUMBER,
    },
    derived={"rd_growth": ("rd_expense", "rd_expense_prior_year")},
    parameters={"limit": PEOPLE, "threshold": YUAN},
    categories=frozenset({"sme_size"}),
    labels={"职工总数": "employees"},
    choices={"town": frozenset({"湖塘镇", "牛塘镇"})},
)


def parse(text: str):
    return parse_condition(text, SCOPE, AT, "三(一)")


def error_of(text: str, lang: str = "en") -> str:
    with pytest.raises(ConditionSyntaxError) as info:
        parse(text)
    return info.value.render(lang)


# ── what compiles to what ────────────────────────────────────────────────────────────────────


def test_comparison_with_parameter():
    cond = parse("employees <= limit")
    assert isinstance(cond, Comparison)
    assert (cond.op, cond.reads, cond.base) == ("<=", ("employees",), ("employees",))
    assert cond.text == "employees <= limit"
    assert cond.clause == "三(一)"


def test_arithmetic_reads_both_facts():
    cond = parse("rd_expense - rd_expense_prior_year >= threshold")
    assert isinstance(cond, Comparison)
    assert isinstance(cond.left, Arith)
    assert cond.reads == ("rd_expense", "rd_expense_prior_year")


def test_derived_fact_expands_to_its_inputs():
    cond = parse("rd_growth >= threshold")
    assert cond.reads == ("rd_growth", "rd_expense", "rd_expense_prior_year")
    assert cond.base == ("rd_expense", "rd_expense_prior_year")


def test_yes_no_fact_and_its_negation():
    flag = parse("hnte_valid")
    assert isinstance(flag, Flag)
    assert (flag.text, flag.location, flag.clause, flag.fact, flag.expected) == (
        "hnte_valid",
        AT,
        "三(一)",
        "hnte_valid",
        True,
    )
    negated = parse("not hnte_valid")
    assert isinstance(negated, Flag)
    assert negated.expected is False


def test_category_and_negated_category():
    assert isinstance(parse("sme_size"), CategoryRef)
    negated = parse("not sme_size")
    assert isinstance(negated, NotOf)
    assert isinstance(negated.part, CategoryRef)


def test_membership_and_text_equality():
    assert parse("town in ['湖塘镇', '牛塘镇']").op == "in"
    assert parse("town == '湖塘镇'").op == "=="


@pytest.mark.parametrize(
    ("written", "op"),
    [
        ("hnte_valid == true", "=="),
        ("false != hnte_valid", "!="),
        ("hnte_valid == incubated", "=="),
    ],
)
def test_a_yes_no_fact_compared_with_a_yes_no_value_is_refused(written, op):
    """It passed validate, then every engine failed on it (match: TypeError; a roster: every row
    'does not apply'; found by a policy-officer review). A yes/no fact is a condition alone."""
    assert error_of(written) == (
        f"measures.yaml:10:7: '{written}': a yes/no fact cannot be compared with {op} to another "
        "yes/no value (write 'hnte_valid' or 'not hnte_valid')"
    )
    assert error_of(written, "zh") == (
        f"measures.yaml:10:7: '{written}'：是/否事实不能用 {op} 与另一个是/否值比较"
        "（请写 'hnte_valid' 或 'not hnte_valid'）"
    )


def test_formula_compiles_to_a_number():
    expr, vtype = parse_expression("rd_expense - rd_expense_prior_year", SCOPE, AT)
    assert vtype == YUAN
    assert facts_in(expr) == ("rd_expense", "rd_expense_prior_year")


# ── what is refused, and how it is said ──────────────────────────────────────────────────────


def test_unknown_name_suggests_the_close_one():
    assert error_of("employes <= limit") == (
        "measures.yaml:10:7: unknown name 'employes' in condition 'employes <= limit' "
        "(did you mean 'employees'?)"
    )
    assert error_of("employes <= limit", "zh") == (
        "measures.yaml:10:7: 条件 'employes <= limit' 中有未知的名称 'employes'（是否应为 'employees'？）"
    )


def test_chinese_label_suggests_the_fact_id():
    assert "(use the fact id: did you mean 'employees'?)" in error_of("职工总数 <= limit")


def test_type_clash_bool_with_ordering():
    assert error_of("hnte_valid >= 3") == (
        "measures.yaml:10:7: type clash in 'hnte_valid >= 3': 'hnte_valid' is a yes/no fact and "
        "cannot be compared with '>= 3' (write 'hnte_valid' or 'not hnte_valid')"
    )


def test_unit_clash():
    assert error_of("employees <= threshold") == (
        "measures.yaml:10:7: unit clash in 'employees <= threshold': 人 compared with 元 "
        "(the same unit on both sides)"
    )


def test_text_compared_with_number():
    assert "type clash in 'town >= 3'" in error_of("town >= 3")


def test_in_is_for_texts_only():
    """A number is compared with a range; 'in' over numbers would need each engine to read a set
    of points, so it is refused, saying what to write instead."""
    assert error_of("employees in [1, 2]") == (
        "measures.yaml:10:20: 'in' in 'employees in [1, 2]' is for a text fact (such as town); its"
        " left side is not"
        " a text (compare a number with a range, e.g. employees >= 10, or write several =="
        " under any:)"
    )
    assert "只用于文字事实" in error_of("employees not in [1, 2]", "zh")
    assert parse("'湖塘镇' == town").kind == "text"  # a literal may stand on the left


def test_unknown_town_value():
    assert "'湖塘' is not a known value of 'town' (did you mean '湖塘镇'?)" in error_of(
        "town == '湖塘'"
    )


def test_syntax_error_points_into_the_text():
    message = error_of("employees <=")
    assert message.startswith("measures.yaml:10:")
    assert "cannot read the condition 'employees <='" in message


def test_single_equals_gets_a_hint():
    assert error_of("hnte_valid = true") == (
        "measures.yaml:10:18: cannot read the condition 'hnte_valid = true': a single '=' is not a "
        "comparison (write '==' to compare, or '<=' / '>=')"
    )


@pytest.mark.parametrize(("char", "instead"), [("≤", "<="), ("≥", ">="), ("（", "(")])
def test_full_width_operators_are_explained(char: str, instead: str):
    message = error_of(f"employees {char} limit")
    assert (
        f"the character '{char}' cannot be used in a condition (write '{instead}' instead)"
        in message
    )
    assert message.startswith("measures.yaml:10:17:")


def test_and_or_inside_one_condition_are_refused():
    assert "(write the parts one per line under 'all:')" in error_of("hnte_valid and incubated")
    assert "(write the parts one per line under 'any:')" in error_of("hnte_valid or incubated")


def test_chained_comparison_is_refused():
    assert "chains two comparisons" in error_of("0 < employees <= limit")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("__import__('os').system('true')", "a function call"),
        ("abs(employees) > 0", "only max(…) and min(…) may be called"),
        ("employees.real > 0", "an attribute"),
        ("employees[0] > 0", "an index"),
        ("(lambda: 1)() > 0", "a function call"),
    ],
)
def test_code_is_never_accepted(text: str, what: str):
    assert what in error_of(text)


def test_division_is_not_an_allowed_operator():
    assert error_of("rd_expense / 2 > 0") == (
        "measures.yaml:10:7: the operator / in 'rd_expense / 2' is not allowed (only + - * may be used)"
    )
    assert "运算符 ** 不允许使用" in error_of("rd_expense ** 2 > 0", "zh")


@pytest.mark.parametrize(
    ("written", "column", "signs"),
    [("rd_expense - - rd_growth > 0", 18, "- -"), ("rd_expense +-rd_growth > 0", 18, "+-")],
)
def test_two_signs_in_a_row_are_a_slip(written, column, signs):
    """'a - -b' is a + b: it passed and a reward came out 10,300,000 instead of 2,100,000 (found
    by a policy-officer review)."""
    assert error_of(written) == (
        f"measures.yaml:10:{column}: '{written}' has two signs in a row ({signs}) "
        "(one sign: a - b or a + b)"
    )


def test_multiplying_by_zero_is_refused():
    """0 and 1 are the figures a formula may write; '* 0' makes the amount 0 whatever the profile."""
    assert error_of("rd_expense * 0 > threshold") == (
        "measures.yaml:10:7: 'rd_expense * 0' multiplies by 0: it is always 0 (no * 0; a figure "
        "is written as a parameter's name)"
    )


@pytest.mark.parametrize("quote", ["“", "‘", "＂"])
def test_chinese_quotation_marks_are_explained(quote):
    written = f"town != {quote}湖塘镇{quote}"
    assert error_of(written) == (
        f"measures.yaml:10:15: the character '{quote}' cannot be used in a condition (a text in "
        "straight single quotes, as in '湖塘镇')"
    )


def test_numeric_fact_alone_is_not_a_condition():
    assert (
        "'employees' is a number in 人, not a yes/no fact (compare it, for example 'employees > 0')"
        in error_of("employees")
    )


def test_parameter_alone_is_not_a_condition():
    assert "'limit' is a parameter; on its own it is not a condition" in error_of("limit")


def test_constant_comparison_reads_no_fact():
    assert "reads no fact" in error_of("1 < 2")


def test_max_and_min_are_the_only_functions():
    assert "unit clash in 'min(employees, rd_expense)': 人 and 元" in error_of(
        "min(employees, rd_expense) > 0"
    )


def test_two_units_multiplied_are_refused():
    assert "multiplies two amounts with units" in error_of("rd_expense * rd_expense_prior_year > 0")


# ── three-valued (Kleene) logic, on the shipped policy's facts ─────────────────────────────


@pytest.fixture(scope="module")
def real():
    kb = policy_kb.load()
    model = kb.model
    scope = Scope(
        facts={
            "employees": ValueType("number", "人"),
            "hnte_valid": BOOL,
            "incubated": BOOL,
            "rd_expense": YUAN,
            "rd_expense_prior_year": YUAN,
            "rd_expense_growth": YUAN,
        },
        derived={"rd_expense_growth": ("rd_expense", "rd_expense_prior_year")},
        parameters={"sme_max_employees": PEOPLE, "rd_growth_reward_min_increase": YUAN},
        categories=frozenset(),
    )
    params = kb.parameters_for_year(2021)

    def run(cond, **values):
        return evaluate_tree(model, cond, values, params)

    def read(text):
        return parse_condition(text, scope, AT)

    return run, read


TRI = (True, False, None)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRI, TRI)))
def test_all_and_any_follow_kleene(real, a, b):
    run, read = real
    x, y = read("hnte_valid"), read("incubated")
    values = {k: v for k, v in (("hnte_valid", a), ("incubated", b)) if v is not None}
    both = run(AllOf("all", AT, "", (x, y)), **values).outcome
    either = run(AnyOf("any", AT, "", (x, y)), **values).outcome
    expected_all = False if False in (a, b) else (None if None in (a, b) else True)
    expected_any = True if True in (a, b) else (None if None in (a, b) else False)
    assert (both, either) == (expected_all, expected_any)


@pytest.mark.parametrize(("value", "expected"), [(True, False), (False, True), (None, None)])
def test_not_keeps_unknown_unknown(real, value, expected):
    run, read = real
    values = {} if value is None else {"hnte_valid": value}
    assert run(NotOf("not", AT, "", read("hnte_valid")), **values).outcome is expected


@pytest.mark.parametrize(
    ("employees", "outcome"), [(499, True), (500, True), (501, False), (None, None)]
)
def test_comparison_at_the_bound(real, employees, outcome):
    run, read = real
    values = {} if employees is None else {"employees": employees}
    trace = run(read("employees <= sme_max_employees"), **values)
    assert trace.outcome is outcome
    assert trace.threshold == 500
    assert trace.facts == {"employees": employees}


def test_missing_zero_is_not_unknown(real):
    run, read = real
    trace = run(
        read("rd_expense - rd_expense_prior_year >= rd_growth_reward_min_increase"),
        rd_expense=0,
        rd_expense_prior_year=0,
    )
    assert trace.outcome is False


def test_an_unknown_amount_is_its_range_not_zero(real):
    """rd_expense 0 and last year's unknown: the growth is at most 0, so it can never reach 20万."""
    run, read = real
    cond = read("rd_expense - rd_expense_prior_year >= rd_growth_reward_min_increase")
    assert run(cond, rd_expense=0).outcome is False
    assert run(cond, rd_expense=150_000).outcome is False
    assert run(cond, rd_expense=250_000).outcome is None  # last year's figure decides it
    assert run(cond, rd_expense_prior_year=10).outcome is None  # this year's is unbounded above


def test_missing_facts_skip_settled_parts(real):
    run, read = real
    cond = AllOf(
        "all",
        AT,
        "",
        (
            read("employees <= sme_max_employees"),
            AnyOf("any", AT, "", (read("hnte_valid"), read("incubated"))),
        ),
    )
    trace = run(cond, hnte_valid=False)  # employees unknown, hnte_valid false, incubated unknown
    assert trace.outcome is None
    assert unknown_facts(cond, trace.record) == ["employees", "incubated"]
    assert (
        unknown_facts(cond, run(cond, employees=600).record) == []
    )  # once one part fails, nothing is missing


def test_missing_facts_of_arithmetic_name_only_the_absent_input(real):
    run, read = real
    cond = read("rd_expense - rd_expense_prior_year >= rd_growth_reward_min_increase")
    trace = run(cond, rd_expense=500_000)
    assert unknown_facts(cond, trace.record) == ["rd_expense_prior_year"]
    assert isinstance(trace.record, Record)


def test_max_is_evaluated_over_ranges(real):
    run, read = real
    cond = read("max(0, rd_expense - rd_expense_prior_year) >= rd_growth_reward_min_increase")
    assert cond.reads == ("rd_expense", "rd_expense_prior_year")
    assert run(cond, rd_expense=5, rd_expense_prior_year=9).outcome is False


def test_a_formula_of_hundreds_of_terms_is_a_located_problem(cli, root, tmp_path):
    """700 terms in one condition crashed ``validate`` with RecursionError (an internal error,
    exit 1; found by a hostile-input review): it is a problem at the condition, exit 2."""
    text = (root / "measures.yaml").read_text("utf-8")
    written = "rd_expense_growth >= rd_growth_reward_min_increase"
    assert text.count(written) == 1
    line = text[: text.index(written)].count("\n") + 1
    long = "rd_expense_growth >= " + " + ".join(["rd_growth_reward_min_increase"] * 700)
    edited = tmp_path / "measures.yaml"
    edited.write_text(text.replace(written, long), "utf-8")
    run = cli("validate", str(edited), "--lang", "en")
    assert run.returncode == 2, run.stderr
    assert f"{edited}:{line}:" in run.stderr
    assert "has too many terms or levels to handle: split it into categories" in run.stderr
    assert "RecursionError" not in run.stderr


def test_a_number_compared_with_true_is_a_clash_of_kinds_not_a_yes_no_fact():
    """'tech_transfer_income == true' said "'true' is a yes/no fact" (found by a review)."""
    assert error_of("rd_expense == true") == (
        "measures.yaml:10:7: type clash in 'rd_expense == true': a number in 元 compared with a "
        "yes/no value (the same kind of value on both sides)"
    )
