"""Fuzzing: arbitrary input never gives a traceback, only an answer (exit 0) or a clear refusal (2).

A fixed number of examples per test (2,300 in all) keeps CI time bounded; a failing example is
printed by Hypothesis and can be replayed with its seed.
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy_kb
from policy_kb.serve.cli import main

SHIPPED = (ROOT / "measures.yaml").read_text(encoding="utf-8")
LOCATED = re.compile(r"^.+:\d+:\d+: ", re.M)
FACTS = sorted(policy_kb.load().model.facts)


def run_main(*args: str) -> tuple[int, str]:
    """``policy-kb ARGS`` in this process: its exit code and what it wrote to stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    return code, err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err
    assert "意外错误" not in err
    assert "unexpected error" not in err


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["是", "否", "yes", "on", "0x10", "1:30", "010", "１２３", "1e400", "-0", "NaN"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
profiles = st.dictionaries(
    st.one_of(st.sampled_from(FACTS), st.text(max_size=12)), json_values, max_size=8
)


def fuzz(examples: int) -> settings:
    """Fixed examples, no deadline (the machine is shared), the same examples on every run."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@fuzz(700)
@given(profile=profiles)
def test_match_on_arbitrary_json(tmp_path_factory: pytest.TempPathFactory, profile: object) -> None:
    path = tmp_path_factory.mktemp("j") / "p.json"
    path.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    assert_clean(*run_main("match", str(path), "--format", "json"))


@fuzz(500)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("abc_: -\n\t[]{}'\"&*!|>#%@0123456789.是否")), max_size=80
    )
)
def test_match_on_arbitrary_yaml(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("y") / "p.yaml"
    path.write_text(text, encoding="utf-8")
    assert_clean(*run_main("match", str(path)))


@fuzz(300)
@given(
    cells=st.lists(
        st.lists(
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
            min_size=4,
            max_size=4,
        ),
        min_size=1,
        max_size=5,
    ),
    columns=st.lists(st.sampled_from(FACTS), min_size=4, max_size=4, unique=True),
)
def test_roster_on_arbitrary_cells(
    tmp_path_factory: pytest.TempPathFactory, cells: list[list[str]], columns: list[str]
) -> None:
    import csv

    folder = tmp_path_factory.mktemp("r")
    path = folder / "r.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(cells)
    assert_clean(*run_main("roster", str(path), "-o", str(folder / "out.csv"), "--quiet"))


def _mutations() -> st.SearchStrategy[str]:
    lines = SHIPPED.split("\n")
    body = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]

    def one_character(index: int, char: str, position: int) -> str:
        line = lines[index]
        at = position % (len(line) + 1)
        changed = [*lines]
        changed[index] = line[:at] + char + line[at + 1 :]
        return "\n".join(changed)

    def one_line(index: int, action: str) -> str:
        changed = [*lines]
        if action == "delete":
            del changed[index]
        elif action == "duplicate":
            changed.insert(index, lines[index])
        else:
            changed[index] = "  " + lines[index]
        return "\n".join(changed)

    return st.one_of(
        st.builds(
            one_character,
            st.sampled_from(body),
            st.sampled_from(list(":-[]{}'\"#&*!|> 0129x.是\t")),
            st.integers(min_value=0, max_value=200),
        ),
        st.builds(
            one_line, st.sampled_from(body), st.sampled_from(["delete", "duplicate", "indent"])
        ),
    )


@fuzz(800)
@given(text=_mutations())
def test_validate_on_mutated_measures(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("m") / "measures.yaml"
    path.write_text(text, encoding="utf-8")
    code, err = run_main("validate", str(path))
    assert_clean(code, err)
    if code == 2:  # every problem has its place in the file
        problems = [line for line in err.splitlines() if line and not line.startswith("共发现")]
        assert problems, err
        assert all(LOCATED.match(line) for line in problems), err
