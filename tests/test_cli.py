"""The policy-kb command as users run it: outputs, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import policy_kb

ROOT = Path(__file__).resolve().parent.parent

EXAMPLE = "examples/registered_hnte_first_above_scale.yaml"


def test_match_prints_the_table(cli):
    result = cli("match", EXAMPLE)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("武进区加快推进科技型中小企业发展的实施意见（2021）\n")
    assert (
        "企业：常州瑞芯传感科技有限公司 · 评价年度：2021 · 所在镇：湖塘镇（附件2目标 50 家）" in out
    )
    assert "三(七) 降低科技型中小企业研发成本 [KM7]  ✔ 适用" in out
    assert "  ✘ 不适用  孵化器、加速器、众创空间服务  KM4.incubation_services" in out
    assert "      适用：属于通过评价的科技型中小企业；当年研发费用总额 7,200,000 元 > 0 元" in out
    assert "四(二) 强化任务落实 [SM2]  ✘ 不适用" in out


def test_match_in_english(cli):
    out = cli("match", EXAMPLE, "--lang", "en").stdout
    assert "Enterprise: 常州瑞芯传感科技有限公司 · year 2021" in out
    assert "✔ applies  R&D super-deduction before tax  KM7.rd_super_deduction" in out


def test_match_table_lists_what_is_missing(cli):
    out = cli("match", "examples/half_unknown.yaml").stdout
    assert "  ? 待定  小型微利企业所得税减免  KM5.small_low_profit_tax" in out
    assert "      待定：缺少应纳税所得额、资产总额" in out


def test_match_reads_standard_input(cli):
    result = cli("match", "-", "--format", "json", stdin='{"tech_sme_registered": true}')
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert "KM3.st_project_priority" in data["summary"]["applicable_benefits"]


def test_match_with_year(cli):
    data = json.loads(cli("match", "-", "--format", "json", "--year", "2022", stdin="{}").stdout)
    assert data["year"] == 2022


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (
            "employees: -5\n",
            "<stdin>:1:12: employees (Total employees): expected a number ≥ 0, got -5",
        ),
        (
            "hnte_valid: maybe\n",
            "<stdin>:1:13: hnte_valid (High and new technology enterprise (HNTE) with a valid certificate): expected true or false, or 是 or 否 (leave it out when unknown), got 'maybe'",
        ),
        (
            "employees: 100\ntech_staff: 120\n",
            "<stdin>:2:13: tech_staff (Science and technology staff): expected at most employees (Total employees) = 100, got 120",
        ),
        (
            "town: 湖塘\n",
            "<stdin>:1:7: town (Town or development zone): expected one of the 11 towns of 附件2 (did you mean '湖塘镇'?), got '湖塘'",
        ),
        ("employes: 10\n", "<stdin>:1:1: employes: unknown fact (did you mean 'employees'?)"),
        (
            "- employees\n- 10\n",
            "<stdin>:1:1: a profile must be a mapping of fact: value, but <stdin> is a list",
        ),
        ("employees: [1, 2\n", None),
        (
            '{"employees": 10,}',
            "<stdin>:1:18: JSON syntax error: expected a key in double quotes (a comma too many,"
            " or single quotes?)",
        ),
    ],
)
def test_bad_profiles_exit_2_with_one_line(cli, stdin, message):
    result = cli("match", "-", "--lang", "en", stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    if message:
        assert lines[0] == message
    else:
        assert lines[0].startswith("<stdin>:2:1: YAML syntax error:")


def test_profile_errors_speak_chinese_by_default(cli):
    result = cli("match", "-", stdin="employees: 100\ntech_staff: 120\n")
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "<stdin>:2:13: tech_staff（科技人员数）：应不超过 employees（职工总数）= 100，实际为 120",
    )


def test_missing_profile_file(cli):
    result = cli("match", "no/such/profile.yaml", "--lang", "en")
    assert (result.returncode, result.stderr.strip()) == (2, "no/such/profile.yaml: no such file")
    chinese = cli("match", "no/such/profile.yaml")
    assert chinese.stderr.strip() == "no/such/profile.yaml：文件不存在"


def test_unsupported_year_exits_2(cli):
    result = cli("match", "-", "--year", "2016", "--lang", "en", stdin="{}")
    assert result.returncode == 2
    assert result.stderr.startswith("no value is in force in 2016 for sme_max_employees")


def test_year_asked_for_wins_over_the_profile_year_and_says_so(cli):
    result = cli("match", EXAMPLE, "--year", "2022", "--format", "json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["year"] == 2022
    assert data["notes"][0] == "企业数据为2021年数据，按要求以2022年评价。"


def test_usage_error_exits_2(cli):
    result = cli("match", "--lang", "en")
    assert result.returncode == 2
    assert "the following arguments are required: PROFILE" in result.stderr


def test_validate_ok(cli):
    assert cli("validate").stdout.strip() == (
        "measures.yaml：校验通过 — 12 项措施（重点举措 9 项、保障措施 3 项），13 项待遇，3 个类别，"
        "22 个参数，32 个事实，11 个镇（开发区），合计 670"
    )
    result = cli("validate", "--lang", "en")
    assert result.returncode == 0
    assert result.stdout.strip() == (
        "measures.yaml: OK — 12 measures (9 key, 3 safeguard), 13 benefits, 3 categories, "
        "22 parameters, 32 facts, 11 towns and zones, 670 in all"
    )


def test_validate_reports_and_exits_2(cli, tmp_path):
    text = (Path(__file__).resolve().parent.parent / "measures.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "measures.yaml"
    bad.write_text(text.replace("  total: 670", "  total: 671"), encoding="utf-8")
    result = cli("validate", str(bad), "--lang", "en")
    assert result.returncode == 2
    assert f"{bad}:" in result.stderr
    assert "the printed total is 671" in result.stderr
    assert "但印刷的合计是 671" in cli("validate", str(bad)).stderr


def test_match_with_an_edited_measures_file(cli, tmp_path):
    text = (Path(__file__).resolve().parent.parent / "measures.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "measures.yaml"
    edited.write_text(
        text.replace(
            "        value: 200000           # 20万元（含）",
            "        value: 100000\n        reference: 测算方案：增长额降至10万元",
        ),
        encoding="utf-8",
    )
    stdin = json.dumps(
        {
            "hnte_valid": True,
            "rd_deduction_claimed": True,
            "rd_deduction_claimed_prior_year": True,
            "rd_expense": 1_150_000,
            "rd_expense_prior_year": 1_000_000,
        }
    )
    shipped = json.loads(cli("match", "-", "--format", "json", stdin=stdin).stdout)
    changed = json.loads(
        cli("match", "-", "--format", "json", "--measures", str(edited), stdin=stdin).stdout
    )
    assert "KM7.rd_growth_reward" not in shipped["summary"]["applicable_benefits"]
    assert "KM7.rd_growth_reward" in changed["summary"]["applicable_benefits"]


def test_match_with_a_broken_measures_file_exits_2(cli, tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("document: [\n", encoding="utf-8")
    result = cli("match", EXAMPLE, "--measures", str(bad), "--lang", "en")
    assert result.returncode == 2
    assert result.stderr.startswith(f"{bad}:2:1: YAML syntax error")


def test_measures_catalogue(cli):
    out = cli("measures").stdout
    assert "三、重点举措" in out
    assert "四、保障措施" in out
    assert "  三(七) [KM7] 降低科技型中小企业研发成本  — 面向 企业" in out
    assert "      · KM7.rd_growth_reward  研发费用增长奖励" in out
    assert "      合计  670" in out
    data = json.loads(cli("measures", "--format", "json").stdout)
    km7 = next(m for m in data["measures"] if m["id"] == "KM7")
    assert km7["benefits"][1]["conditions"] == [
        {"any": ["registered_tech_sme", "hnte_valid"]},
        "rd_deduction_claimed",
        "rd_deduction_claimed_prior_year",
        "rd_expense_growth >= rd_growth_reward_min_increase",
    ]


def test_town_command(cli):
    result = cli("town", "湖塘镇")
    assert result.returncode == 0
    assert result.stdout.startswith(
        "湖塘镇（附件2第 3 行）· 2021年科技型中小企业入库评价目标 50 家（全区合计 670 家）"
    )
    assert "✔ 适用  四(二) 强化任务落实 [SM2]" in result.stdout
    data = json.loads(cli("town", "湖塘镇", "--format", "json").stdout)
    assert data["town"]["target"] == 50
    assert [m["id"] for m in data["measures"] if m["status"] == "applies"] == ["SM2"]


def test_unknown_town_exits_2(cli):
    result = cli("town", "湖塘", "--lang", "en")
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "unknown town '湖塘' (did you mean '湖塘镇'?)",
    )


def test_facts_command(cli):
    out = cli("facts").stdout
    assert "  employees                          count  职工总数 (人)" in out
    assert "rd_expense_growth                  = rd_expense - rd_expense_prior_year" in out
    assert out.startswith("基本信息\n")
    english = cli("facts", "--lang", "en").stdout  # the groups and units in English too
    assert english.startswith("Basic information\n")
    assert "  employees                          count  Total employees (people)" in english
    assert "  annual_revenue                     money  Annual sales revenue (CNY)" in english
    assert not any("\u4e00" <= c <= "\u9fff" for c in english)


def test_export_turtle_and_json_ld(cli, tmp_path):
    target = tmp_path / "out.ttl"
    assert cli("export", "-o", str(target)).returncode == 0
    assert target.read_text(encoding="utf-8").startswith("@prefix")
    jsonld = json.loads(cli("export", "--format", "json-ld").stdout)
    assert "@context" in jsonld
    assert "@graph" in jsonld


def test_python_dash_m_and_console_script_agree(cli):
    assert cli("--version").stdout.strip().startswith("policy-kb ")


def test_unexpected_errors_exit_1_without_a_traceback(tmp_path, monkeypatch, capsys):
    from policy_kb.serve import cli

    def boom(*_args, **_kwargs):
        raise RuntimeError("something broke")

    monkeypatch.setattr(cli, "_cmd_validate", boom)
    monkeypatch.delenv("POLICY_KB_DEBUG", raising=False)
    code = cli.main(["validate", "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == (
        "policy-kb: unexpected error (RuntimeError: something broke). Set POLICY_KB_DEBUG=1 to see the details, "
        "and please report it."
    )


def test_a_roster_commands_whole_output_reaches_a_pipe(cli, capsys):
    """A roster command ends its process without the interpreter's teardown (``cli.run``): what
    it printed is flushed first, byte for byte what :func:`main` prints in process, and the exit
    code is kept."""
    from policy_kb.serve import cli as module

    roster = "examples/roster/roster.csv"
    piped = cli("progress", roster, "--format", "json", "--quiet")
    assert piped.returncode == 0, piped.stderr
    assert module.main(["progress", roster, "--format", "json", "--quiet"]) == 0
    assert piped.stdout == capsys.readouterr().out
    assert json.loads(piped.stdout)["rows"] == 2000
    refused = cli("roster", "no-such-roster.csv", "--lang", "en")
    assert refused.returncode == 2
    assert "no-such-roster.csv" in refused.stderr


def test_validate_and_lint_take_measures_as_every_command_does(cli, tmp_path):
    edited = tmp_path / "measures.yaml"
    edited.write_text(
        Path("measures.yaml").read_text(encoding="utf-8").replace("  total: 670", "  total: 680"),
        encoding="utf-8",
    )
    for args in (["validate", "--measures", str(edited)], ["validate", str(edited)]):
        run = cli(*args, "--lang", "en")
        assert run.returncode == 2
        assert "but the printed total is 680" in run.stderr
    both = cli("validate", "measures.yaml", "--measures", str(edited), "--lang", "en")
    assert both.returncode == 2
    assert both.stderr.strip() == (
        f"policy-kb: FILE (measures.yaml) and --measures ({edited}) name different files: "
        "give one of them"
    )
    assert cli("validate", "measures.yaml", "--measures", "measures.yaml").returncode == 0


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (
            ["validate", "--bogus"],
            "policy-kb: 无法识别的参数：--bogus（用 --help 查看这个命令接受的参数）",
            "policy-kb: unrecognized arguments: --bogus (--help lists what this command takes)",
        ),
        (
            ["match", EXAMPLE, "--year", "abc"],
            "policy-kb match: 参数 --year 的值 'abc' 不是有效的年份（如 2021）",
            "policy-kb match: argument --year: invalid year value: 'abc'",
        ),
        (
            ["match"],
            "policy-kb match: 缺少必需的参数：PROFILE",
            "policy-kb match: the following arguments are required: PROFILE",
        ),
        (  # a mistyped option, command or choice: the closest names
            ["match", EXAMPLE, "--fromat", "json"],
            "policy-kb: 无法识别的参数：--fromat json（用 --help 查看这个命令接受的参数）"
            "；是否应为 '--format'？",
            "policy-kb: unrecognized arguments: --fromat json (--help lists what this command"
            " takes); did you mean '--format'?",
        ),
        (
            ["mach", EXAMPLE],
            "policy-kb: 参数 COMMAND 的值 'mach' 不可用，可选：'match', 'precheck', 'measures',"
            " 'town', 'facts', 'roster', 'progress', 'mobilise', 'readiness', 'impact', 'serve',"
            " 'lint', 'validate', 'export'；是否应为 'match' 或 'impact'？",
            "policy-kb: argument COMMAND: invalid choice: 'mach' (choose from 'match', 'precheck',"
            " 'measures', 'town', 'facts', 'roster', 'progress', 'mobilise', 'readiness', 'impact',"
            " 'serve', 'lint', 'validate', 'export'); did you mean 'match' or 'impact'?",
        ),
        (
            ["match", EXAMPLE, "--format", "jsn"],
            "policy-kb match: 参数 --format 的值 'jsn' 不可用，可选：'table', 'json'；是否应为 'json'？",
            "policy-kb match: argument --format: invalid choice: 'jsn' (choose from 'table',"
            " 'json'); did you mean 'json'?",
        ),
    ],
)
def test_usage_errors_are_said_in_the_commands_language(cli, args, zh, en):
    for lang, expected in (("zh", zh), ("en", en)):
        run = cli(*args, "--lang", lang)
        assert run.returncode == 2
        assert run.stderr.splitlines()[-1] == expected
        assert run.stderr.startswith({"zh": "用法：policy-kb", "en": "usage: policy-kb"}[lang])


def test_help_is_in_the_commands_language(cli):
    """argparse's own words (usage:, positional arguments, options, -h) were English in a
    Chinese help (found by a new-user trial)."""
    zh, en = cli("--help").stdout, cli("match", "--help", "--lang", "en").stdout
    assert zh.startswith("用法：policy-kb [-h] [--version] COMMAND")
    assert "\n位置参数：\n" in zh
    assert "\n选项：\n" in zh
    assert "-h, --help  显示此帮助并退出" in zh
    assert "--version   显示版本号并退出" in zh
    for english in ("usage:", "positional arguments", "options:", "show this help"):
        assert english not in zh
    assert en.startswith("usage: policy-kb match")
    assert "show this help message and exit" in en


def test_a_missing_file_is_said_in_the_readers_language(cli):
    run = cli("match", EXAMPLE, "--measures", "no-such-measures.yaml")
    assert run.returncode == 2
    assert run.stderr.strip() == "no-such-measures.yaml：无法读取（文件或文件夹不存在）"
    run = cli("match", EXAMPLE, "--measures", "no-such-measures.yaml", "--lang", "en")
    assert run.stderr.strip() == "no-such-measures.yaml: cannot be read (no such file or folder)"


def test_a_file_with_thousands_of_problems_lists_the_first_two_hundred(tmp_path):
    import policy_kb
    from policy_kb import MeasuresFileError
    from policy_kb.errors import SHOWN_PROBLEMS

    path = tmp_path / "measures.yaml"
    stray = "".join(f"k{i}: 1\n" for i in range(1000))
    path.write_text(Path("measures.yaml").read_text(encoding="utf-8") + stray, encoding="utf-8")
    with pytest.raises(MeasuresFileError) as info:
        policy_kb.load(path)
    assert len(info.value.problems) == 1000
    lines = info.value.render("en").splitlines()
    assert len(lines) == SHOWN_PROBLEMS + 2
    assert lines[-2] == (
        "… and 800 more problems not listed (correct those above, then validate again)"
    )
    assert lines[-1] == "1000 problems found; nothing was loaded."


@pytest.mark.parametrize("year", ["0", "-1", "10000", "99999999999999999999", "1948"])
def test_a_year_out_of_range_is_bad_input(cli, year):
    """Year 0 or 10**20 reached the date library and ended in 'unexpected error' (exit 1)."""
    run = cli("match", EXAMPLE, "--year", year, "--lang", "en")
    assert run.returncode == 2
    assert run.stderr.strip() == f"the year {year} is not between 1949 and 2100"


def test_a_lone_surrogate_in_a_profile_is_bad_input(cli):
    run = cli("match", "-", "--format", "json", "--lang", "en", stdin='{"name": "\\ud800"}')
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "name (Enterprise name): expected a text that can be shown: no control character (such as"
        " ESC or NUL) or mark that reorders text, and no lone escape such as \\ud800 in JSON, got"
        " '\\ud800'"
    )


def test_a_long_refused_value_is_shown_cut(cli):
    run = cli("match", "-", "--lang", "en", stdin='{"employees": "' + "9x" * 50_000 + '"}')
    assert run.returncode == 2
    message = run.stderr.strip()
    assert len(message) < 200
    assert message.endswith("… (100000 characters in all)")


def test_serve_refuses_what_it_could_not_listen_on_before_announcing(cli):
    """--port 99999 was announced, then bound as 99999 mod 65536; a port in use was announced,
    then failed in uvicorn's English with exit 3."""
    import socket

    for args, message in (
        (
            ["--port", "99999"],
            "policy-kb: port 99999 cannot be used: a port is between 1 and 65535",
        ),
        (["--port", "0"], "policy-kb: port 0 cannot be used: a port is between 1 and 65535"),
        (["--workers", "0"], "policy-kb: --workers is 0: at least 1 worker is needed"),
        (  # it forked until the kernel killed other programs' processes (a hostile-input review)
            ["--workers", "100000"],
            f"policy-kb: --workers is 100000: at most {4 * (os.cpu_count() or 1)} on this machine "
            "(4 per core; more only share the same cores, and each takes its own memory)",
        ),
    ):
        run = cli("serve", *args, "--lang", "en")
        assert (run.returncode, run.stderr.strip(), run.stdout) == (2, message, "")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = cli("serve", "--port", str(port), "--lang", "en")
    assert run.returncode == 2
    assert run.stdout == ""  # nothing announced
    assert run.stderr.strip() == (
        f"policy-kb: cannot listen on 127.0.0.1:{port}: another program is using the port"
    )


def test_a_chart_of_the_wrong_kind_is_refused_before_the_roster_is_read(cli, tmp_path):
    """It printed the whole progress table, then exited 2 for the chart's extension."""
    run = cli("progress", "examples/roster/roster.csv", "--chart", str(tmp_path / "c.txt"))
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip() == f"{tmp_path / 'c.txt'}：图表只能保存为 .png 或 .svg"
    assert list(tmp_path.iterdir()) == []


def test_a_folder_given_as_a_roster_or_its_output_is_named_as_a_folder(cli, tmp_path):
    run = cli("roster", str(tmp_path), "--lang", "en")
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"{tmp_path}: this is a folder, not a roster file (.csv, .parquet or .xlsx)"
    )
    run = cli("roster", "examples/roster/roster.csv", "-o", str(tmp_path), "--lang", "en")
    assert run.returncode == 2
    assert run.stderr.strip() == f"the output {tmp_path} is a folder, not a file name"


def test_a_long_unknown_key_is_shown_cut(cli):
    run = cli("match", "-", "--lang", "en", stdin='{"' + "k" * 200_000 + '": 1}')
    assert run.returncode == 2
    assert len(run.stderr) < 400
    assert "… (200000 characters in all)" in run.stderr


def test_an_edited_measures_yaml_beside_the_command_is_named_when_the_installed_one_is_read(
    cli, tmp_path
):
    """A policy officer edits measures.yaml in a checkout installed with ``pip install .`` and
    runs ``policy-kb validate`` there: the installed copy is read, and the command says so and
    how to read the edited one, instead of a plain "OK" for a file it never read."""
    shipped = (ROOT / "measures.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "measures.yaml"
    edited.write_text(shipped.replace("target: 50}", "target: 60}", 1), encoding="utf-8")
    run = cli("validate", cwd=tmp_path)
    assert run.returncode == 0
    note = run.stderr.strip()
    assert note.startswith("注意：读取的是随包安装的 measures.yaml（")
    assert note.endswith("要使用当前文件夹中的文件，请加 --measures measures.yaml")
    english = cli("match", str(ROOT / EXAMPLE), "--lang", "en", cwd=tmp_path).stderr.strip()
    assert english.startswith("note: the measures.yaml installed with the package is read (")
    assert cli("validate", "--measures", "measures.yaml", cwd=tmp_path).returncode == 2
    edited.write_text(shipped, encoding="utf-8")  # the same text: nothing to say
    assert cli("validate", cwd=tmp_path).stderr == ""


def test_a_measures_file_that_cannot_be_read_is_a_measures_error_in_the_library(tmp_path):
    for path, reason in (
        (tmp_path / "nosuch.yaml", "文件或文件夹不存在"),
        (tmp_path, "这是一个文件夹"),
    ):
        with pytest.raises(policy_kb.MeasuresFileError) as raised:
            policy_kb.load(path)
        assert raised.value.render("zh") == f"{path}：无法读取（{reason}）"
        assert raised.value.problems == ()


def test_detail_summary_without_json_is_refused_not_ignored(cli):
    run = cli("match", EXAMPLE, "--detail", "summary")
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip() == (
        "--detail summary 只用于 JSON 输出：请同时加 --format json（表格总是完整的答案）"
    )
    assert cli("match", EXAMPLE, "--detail", "summary", "--format", "json").returncode == 0


def test_an_option_another_command_takes_suggests_nothing_far_fetched(cli):
    """--year is not an option of town: the options are compared without their dashes, so no
    unrelated one (--measures) is offered as the likely meaning."""
    run = cli("town", "湖塘镇", "--year", "2021")
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1] == (
        "policy-kb: 无法识别的参数：--year 2021（用 --help 查看这个命令接受的参数）"
    )


def test_an_unknown_name_is_echoed_with_its_control_characters_spelled_out(cli):
    """`policy-kb town $'\\x1b[31m湖塘镇'` echoed the escape raw (recolouring the terminal; found
    by a hostile-input review)."""
    run = cli("town", "\x1b[31m湖塘镇", "--lang", "en")
    assert run.returncode == 2
    assert "\x1b" not in run.stderr
    assert "\\x1b[31m湖塘镇" in run.stderr


def test_export_never_writes_over_a_file_the_policy_is_read_from(cli, tmp_path):
    """`export -o measures.yaml` in a checkout replaced the policy with Turtle, and -o into the
    package's source text or ontology broke every later command (found by a hostile-input
    review): each file the knowledge base rests on is an input of every output."""
    from policy_kb.policy.resources import data_file

    shipped = [
        data_file("measures.yaml"),
        data_file("sources", "000_6cc745b56c039c16.txt"),
        data_file("ontology", "policy_kb.ttl"),
    ]
    before = {path: path.read_bytes() for path in shipped}
    try:
        for path in shipped:
            result = cli("export", "--with-ontology", "-o", str(path), "--lang", "en")
            assert result.returncode == 2, result.stderr
            assert f"the output {path} is the input file" in result.stderr
        # a measures file of one's own, and the source text beside it, are kept the same way
        own = tmp_path / "measures.yaml"
        own.write_bytes(before[shipped[0]])
        (tmp_path / "sources").mkdir()
        beside = tmp_path / "sources" / "000_6cc745b56c039c16.txt"
        beside.write_bytes(before[shipped[1]])
        for target in (own, beside):
            result = cli("export", "--measures", str(own), "-o", str(target))
            assert result.returncode == 2, result.stderr
            assert target.read_bytes() == before[shipped[0] if target == own else shipped[1]]
    finally:
        for path, data in before.items():  # never leave the checkout damaged by a regression
            if path.read_bytes() != data:
                path.write_bytes(data)
    assert all(path.read_bytes() == data for path, data in before.items())


@pytest.mark.parametrize("written", ["2_022", "２０２２", " 2022", "2022.0"])
def test_year_is_four_digits_on_the_command_line_as_in_a_profile(cli, written):
    """int() took '2_022', full-width digits and ' 2022' (found by a hostile-input review)."""
    example = (
        Path(__file__).resolve().parent.parent
        / "examples"
        / "registered_hnte_first_above_scale.yaml"
    )
    run = cli("match", str(example), "--year", written)
    assert run.returncode == 2
    assert run.stderr.strip().endswith(f"参数 --year 的值 '{written}' 不是有效的年份（如 2021）")


def test_a_device_given_as_a_file_is_said_as_one(cli):
    """/dev/zero was 'the file is 0 bytes, too large', /dev/null as a roster 'no such file'
    (found by a hostile-input review)."""
    zero = cli("match", "/dev/zero", "--lang", "en")
    assert zero.returncode == 2
    assert zero.stderr.startswith(
        "/dev/zero:1:1: the input is more than 1,000,000 bytes, too large"
    )
    null = cli("roster", "/dev/null", "--lang", "en")
    assert null.returncode == 2
    assert null.stderr.strip() == (
        "/dev/null: not a regular file (a device, a pipe or a socket): it cannot be read as a roster"
    )
