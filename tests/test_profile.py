"""Enterprise profiles: every refusal names the fact, the value and what was expected."""

from __future__ import annotations

import json
import math

import pytest

from policy_kb import ProfileError
from policy_kb.policy.profile import parse_profile_text


def refused(kb, profile, lang: str = "en") -> list[str]:
    with pytest.raises(ProfileError) as info:
        kb.evaluate(profile)
    return [i.render(lang) for i in info.value.issues]


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"employees": -5}, "employees (Total employees): expected a number ≥ 0, got -5"),
        (
            {"employees": "五百"},
            "employees (Total employees): expected a whole number, got '五百'",
        ),
        (
            {"employees": 12.5},
            "employees (Total employees): expected a whole number, got 12.5",
        ),
        (
            {"employees": True},
            "employees (Total employees): expected a whole number, got true",
        ),
        (
            {"annual_revenue": -1},
            "annual_revenue (Annual sales revenue): expected an amount ≥ CNY 0, got -1",
        ),
        (
            {"annual_revenue": "20万"},
            "annual_revenue (Annual sales revenue): expected a number in 元 (not 万元), such as 1500000, got '20万'",
        ),
        (
            {"hnte_valid": "yes"},
            "hnte_valid (High and new technology enterprise (HNTE) with a valid certificate): expected true or false, or 是 or 否 (leave it out when unknown), got 'yes'",
        ),
        (
            {"hnte_valid": 1},
            "hnte_valid (High and new technology enterprise (HNTE) with a valid certificate): expected true or false, or 是 or 否 (leave it out when unknown), got 1",
        ),
        (
            {"town": "湖塘"},
            "town (Town or development zone): expected one of the 11 towns of 附件2 (did you mean '湖塘镇'?), got '湖塘'",
        ),
        (
            {"year": 1800},
            "year (Year the data refer to): expected a year from 1949 to 2100, got 1800",
        ),
        ({"employes": 10}, "employes: unknown fact (did you mean 'employees'?)"),
        (
            {"rd_expense_growth": 300000},
            "rd_expense_growth (Year-on-year increase of R&D expenses) is computed from rd_expense, rd_expense_prior_year and cannot be given; give those facts instead",
        ),
        (
            {"employees": 100, "tech_staff": 120},
            "tech_staff (Science and technology staff): expected at most employees (Total employees) = 100, got 120",
        ),
        (
            {"ip_class1": -1},
            "ip_class1 (Valid class I IP rights (invention patents etc.)): expected a number ≥ 0, got -1",
        ),
    ],
)
def test_bad_profiles_are_refused_with_a_named_fact(kb, profile, message):
    assert refused(kb, profile) == [message]


def test_the_messages_are_chinese_by_default(kb):
    assert refused(kb, {"employees": -5}, "zh") == [
        "employees（职工总数）：应为不小于 0 人的数，实际为 -5"
    ]
    assert refused(kb, {"employees": 100, "tech_staff": 120}, "zh") == [
        "tech_staff（科技人员数）：应不超过 employees（职工总数）= 100，实际为 120"
    ]
    assert refused(kb, {"employes": 10}, "zh") == ["employes：未知的事实（是否应为 'employees'？）"]


def test_a_python_nan_or_pandas_na_is_unknown_not_an_error(kb):
    result = kb.evaluate({"annual_revenue": math.nan, "employees": 10})
    assert "annual_revenue" not in result.profile.values
    assert result.status("KM1.evaluation_mobilization").value == "undetermined"


def test_town_far_from_any_name_lists_them_all(kb):
    (message,) = refused(kb, {"town": "上海"})
    assert message.startswith(
        "town (Town or development zone): expected one of the 11 towns of 附件2: 高新区, 西太湖, 湖塘镇"
    )


def test_every_problem_is_reported(kb):
    messages = refused(kb, {"employees": -1, "hnte_valid": "no", "employes": 3})
    assert [m.split(":")[0].split(" ")[0] for m in messages] == [
        "employees",
        "hnte_valid",
        "employes",
    ]


def test_not_a_mapping(kb):
    assert refused(kb, ["employees", 10]) == [
        "a profile must be a mapping of fact: value, but the input is a list"
    ]


def test_null_means_unknown_not_false(kb):
    result = kb.evaluate({"hnte_valid": None, "employees": None})
    assert result.status("KM5.hnte_income_tax").value == "undetermined"
    assert "hnte_valid" not in result.profile.values


def test_integral_float_count_is_accepted_as_an_integer(kb):
    result = kb.evaluate({"employees": 500.0, "annual_revenue": 1.5e6})
    assert result.profile.values["employees"] == 500
    assert isinstance(result.profile.values["employees"], int)


def test_chinese_labels_are_accepted_as_keys(kb):
    result = kb.evaluate({"有效期内高新技术企业": True, "职工总数": 20})
    assert result.profile.values == {"employees": 20, "hnte_valid": True}


def test_the_same_fact_twice_is_refused(kb):
    assert refused(kb, {"employees": 10, "职工总数": 11}) == [
        "employees: given twice (as 'employees' and as '职工总数')"
    ]


def test_yaml_profile_errors_carry_line_and_column(kb):
    raw = parse_profile_text("name: 测试\nemployees: -3\n", "p.yaml")
    assert refused(kb, raw) == [
        "p.yaml:2:12: employees (Total employees): expected a number ≥ 0, got -3"
    ]


def test_broken_yaml_profile(kb):
    with pytest.raises(ProfileError) as info:
        parse_profile_text("employees: [1, 2\n", "p.yaml")
    (message,) = [i.render("en") for i in info.value.issues]
    assert message.startswith("p.yaml:2:1: YAML syntax error:")


def test_broken_json_profile():
    with pytest.raises(ProfileError) as info:
        parse_profile_text('{"employees": 10,}', "p.json")
    assert info.value.render("en") == (
        "p.json:1:18: JSON syntax error: expected a key in double quotes (a comma too many, or"
        " single quotes?)"
    )
    # Python's English is said in the reader's language: each of the usual slips
    for text, said in (
        ('{"employees": 10,}', "应为用双引号括起的键名（多了一个逗号，或用了单引号？）"),
        ('{"employees" 10}', "缺少冒号 :"),
        ('{"employees": 10 "name": "a"}', "缺少逗号 ,（或多了一个括号）"),
        ('{"employees": }', "此处应为一个值"),
        ('{"name": "a}', "字符串没有结束（缺少右引号）"),
        ('{"name": "a\\q"}', "无效的转义（\\ 后面的字符）"),
        ('{"name": "a"} x', "数据结束后还有多余的内容"),
    ):
        with pytest.raises(ProfileError) as info:
            parse_profile_text(text, "p.json")
        assert info.value.render("zh").split("JSON 语法错误：", 1)[1] == said, text


def test_json_nan_and_duplicate_keys_are_refused():
    with pytest.raises(ProfileError) as nan:
        parse_profile_text('{"annual_revenue": NaN}', "p.json")
    assert "NaN is not a number JSON allows" in nan.value.render("en")
    with pytest.raises(ProfileError) as twice:
        parse_profile_text('{"employees": 1, "employees": 2}', "p.json")
    assert "duplicate key 'employees'" in twice.value.render("en")


def test_year_asked_for_wins_over_the_profile_year(kb):
    result = kb.evaluate({"year": 2022}, year=2021)
    assert result.year == 2021
    assert result.to_dict("en")["notes"] == [
        "The profile's data are for 2022; evaluated for 2021 as asked."
    ]


def test_yaml_nan_and_inf_are_refused_not_taken_as_unknown(kb):
    """A NaN handed over from Python is a missing cell (unknown); written in a file it is a
    mistake: '.nan' was silently read as unknown, and stays refused for every kind of fact."""
    raw = parse_profile_text("employees: .nan\nannual_revenue: .inf\nhnte_valid: .nan\n", "p.yaml")
    with pytest.raises(ProfileError) as info:
        kb.evaluate(raw)
    assert info.value.render("en").splitlines() == [
        "p.yaml:1:12: employees (Total employees): expected a whole number, got .nan",
        "p.yaml:2:17: annual_revenue (Annual sales revenue): expected a number in 元 (not 万元), "
        "such as 1500000, got .inf",
        "p.yaml:3:13: hnte_valid (High and new technology enterprise (HNTE) with a valid "
        "certificate): expected true or false, or 是 or 否 (leave it out when unknown), got .nan",
    ]
    assert (
        kb.evaluate(parse_profile_text("employees: ~\n", "p.yaml")).profile.get("employees") is None
    )


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_a_number_no_float_holds_is_refused_not_read_as_zero(kb, suffix):
    """1e-400 is not 0: read as 0.0 it made "技术转让收入 > 0" fail (found by a hostile-input
    review, in YAML, JSON and over HTTP, which reads JSON the same way). 2e400 is quoted as
    written, where JSON's was quoted as inf."""
    text = (
        "tech_transfer_income: 1e-400\nemployees: 2e400\ntotal_assets: 0.0e-500\n"
        if suffix == "yaml"
        else '{"tech_transfer_income": 1e-400, "employees": 2e400, "total_assets": 0.0e-500}'
    )
    with pytest.raises(ProfileError) as info:
        kb.evaluate(parse_profile_text(text, f"p.{suffix}"))
    small, large = info.value.render("en").splitlines()
    assert small.endswith(
        "tech_transfer_income (Technology development and transfer income): expected a number "
        "that can be held (not so large that it is infinite nor, unless 0, so small that it reads"
        " as 0, and of at most 15 significant digits), got 1e-400"
    )
    assert large.startswith("p.yaml:2:12: employees" if suffix == "yaml" else "employees")
    assert large.endswith(", got 2e400")
    fine = text.replace("1e-400", "1e-30").replace("2e400", "2")
    answer = kb.evaluate(parse_profile_text(fine, f"p.{suffix}"))
    assert answer.status("KM5.tech_transfer_tax").value == "applies"


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_a_number_of_more_digits_than_a_float_holds_is_refused_not_rounded(kb, suffix):
    """199999.99999999999999 was read as 200000 and met "growth ≥ 200,000" (the reward
    applied), and 9.9999999999999999999 employees as 10 (found by a hostile-input review)."""
    grown = "199999.99999999999999"
    text = (
        f"rd_expense: {grown}\nrd_expense_prior_year: 0\nemployees: 9.9999999999999999999\n"
        if suffix == "yaml"
        else f'{{"rd_expense": {grown}, "rd_expense_prior_year": 0, "employees": 9.9999999999999999999}}'
    )
    with pytest.raises(ProfileError) as info:
        kb.evaluate(parse_profile_text(text, f"p.{suffix}"))
    first, second = info.value.render("en").splitlines()
    assert first.endswith(f"of at most 15 significant digits), got {grown}")
    assert second.endswith("got 9.9999999999999999999")
    # as many digits as a float holds exactly are read as written
    exact = text.replace(grown, "0.30000000000000004").replace("9.9999999999999999999", "12")
    assert kb.evaluate(parse_profile_text(exact, f"p.{suffix}")).profile.get("rd_expense") == (
        0.30000000000000004
    )


def test_a_profiles_messages_are_a_profiles(kb):
    """An alias in a profile was told to 'define a category' (advice for measures.yaml), and a
    list given as the profile read '但 输入内容 是一个列表'."""
    with pytest.raises(ProfileError) as info:
        parse_profile_text("a: &x 5\nemployees: *x\n", "p.yaml")
    assert info.value.render("zh") == "p.yaml:2:12: 不允许使用 YAML 别名 '*x'（请直接写出该值）"
    with pytest.raises(ProfileError) as info:
        kb.evaluate([1])
    assert info.value.render("zh") == "企业画像必须是「事实: 值」的映射，但「输入内容」是一个列表"


def test_a_control_character_is_named_where_it_stands():
    """libyaml's 'unacceptable character #x0007 … position 12' in English, placed at 1:1."""
    with pytest.raises(ProfileError) as info:
        parse_profile_text("a: 1\nemployees: 5\x07\n", "p.yaml")
    assert info.value.render("zh") == (
        "p.yaml:2:13: 这里有一个不可见的控制字符（U+0007）（删除它：它多半是从别处复制时带进来的）"
    )


def test_a_control_character_after_chinese_text_is_placed_right():
    """libyaml counts UTF-8 bytes: after Chinese text the character was placed lines later."""
    with pytest.raises(ProfileError) as info:
        parse_profile_text("name: 中文中文中文\ntown: 湖塘镇\nemployees: 5\x07\n", "p.yaml")
    assert info.value.render("en").startswith("p.yaml:3:13: an invisible control character")


def test_a_profile_typed_with_full_width_colons_throughout_names_the_slip(kb):
    """Every key followed by "：" (a Chinese input method left on): the file reads as one text,
    and the message says why, as it does for one such key among others."""
    raw = parse_profile_text("name： 甲公司\ntown： 湖塘镇\nemployees： 100\n", "fw.yaml")
    with pytest.raises(ProfileError) as raised:
        kb.validate_profile(raw)
    zh = raised.value.render("zh")
    assert zh.startswith("fw.yaml:1:1: 企业画像必须是「事实: 值」的映射")
    assert zh.endswith(
        "：键 'name' 后面是全角冒号「：」，所以整个文件被读成了一段文字（改为半角冒号和一个空格：'…: '）"
    )
    assert raised.value.render("en").endswith(
        ": the key 'name' is followed by a full-width colon (U+FF1A), so the whole file reads"
        " as one text (a half-width colon and a space: '…: ')"
    )


def test_an_unknown_fact_is_placed_at_its_name_a_bad_value_at_the_value(kb):
    raw = parse_profile_text("name: 甲\ntech_staf: 5\nemployees: -3\n", "p.yaml")
    with pytest.raises(ProfileError) as raised:
        kb.validate_profile(raw)
    lines = raised.value.render("zh").splitlines()
    assert lines[0].startswith("p.yaml:2:1: tech_staf：未知的事实")
    assert lines[1].startswith("p.yaml:3:12: employees")


def test_a_value_is_quoted_as_written_not_as_python_writes_it(kb):
    """A Parquet decimal or timestamp cell was quoted as Decimal('1000.5') and
    datetime.datetime(2020, 1, 1, 0, 0) (found by a hostile-input review)."""
    import datetime
    from decimal import Decimal

    import numpy as np

    said = []
    for value in (Decimal("1000.5"), datetime.datetime(2020, 1, 1), np.float64(1.5), "x"):
        with pytest.raises(ProfileError) as info:
            kb.evaluate({"employees": value})
        said.append(info.value.render("en").rsplit("got ", 1)[1])
    assert said == ["1000.5", "2020-01-01T00:00:00", "1.5", "'x'"]


def test_a_profile_of_thousands_of_keys_is_refused_at_once(kb):
    """40,000 unknown keys took 13 s (each compared with every fact's name), blocked the HTTP
    service's health answer meanwhile, and answered 8 MB of refusals (found by a hostile-input
    review): more keys than a profile can hold are refused in one sentence."""
    import time

    text = json.dumps({f"k{i}": 0 for i in range(40_000)})
    started = time.perf_counter()
    with pytest.raises(ProfileError) as info:
        kb.evaluate(parse_profile_text(text, "p.json"))
    assert time.perf_counter() - started < 1.0
    assert info.value.render("en") == (
        f"the profile has 40,000 keys, and the policy has {len(kb.model.facts)} facts (each given"
        " once at most): check that the right data were sent"
    )
    few = json.dumps({f"k{i}": 0 for i in range(3)})
    with pytest.raises(ProfileError) as named:
        kb.evaluate(parse_profile_text(few, "p.json"))
    assert len(named.value.issues) == 3  # a few unknown keys are each named, with a hint
