"""The JSON output against its shipped schema, and the schemas themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import policy_kb
from policy_kb.policy.resources import schema

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema("evaluation"))
    return Draft202012Validator(schema("evaluation"))


def errors(validator: Draft202012Validator, data) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cli_json_follows_the_schema(cli, validator, example, lang):
    result = cli("match", str(example), "--format", "json", "--lang", lang)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON document
    assert errors(validator, data) == []
    assert data["year"] == 2021
    assert data["policy"]["id"] == "wujin-tech-sme-2021"
    assert [m["id"] for m in data["measures"]] == [f"KM{i}" for i in range(1, 10)] + [
        "SM1",
        "SM2",
        "SM3",
    ]
    assert [m["kind"] for m in data["measures"]] == ["key"] * 9 + ["safeguard"] * 3


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "employees": st.integers(0, 2000),
            "annual_revenue": st.integers(0, 10**9),
            "total_assets": st.integers(0, 10**9),
            "hnte_valid": st.booleans(),
            "tech_sme_registered": st.booleans(),
            "rd_expense": st.integers(0, 10**8),
            "rd_expense_prior_year": st.integers(0, 10**8),
            "town": st.sampled_from(["高新区", "绿建区"]),
        },
    )
)
def test_every_evaluation_follows_the_schema(profile):
    validator = Draft202012Validator(schema("evaluation"))
    assert errors(validator, policy_kb.evaluate(profile).to_dict()) == []


def test_schema_rejects_a_renamed_key(validator):
    data = policy_kb.evaluate({}).to_dict()
    data["measures"][0]["benefits"][0]["state"] = data["measures"][0]["benefits"][0].pop("status")
    assert any("'status' is a required property" in e for e in errors(validator, data))


def test_measures_schema_is_valid_and_accepts_the_shipped_file(root):
    Draft202012Validator.check_schema(schema("measures"))
    data = yaml.safe_load((root / "measures.yaml").read_text(encoding="utf-8"))
    # YAML dates become date objects; the loader turns them into ISO strings before checking
    for param in data["parameters"].values():
        for value in param["values"]:
            value["from"] = value["from"].isoformat()
            if "until" in value:
                value["until"] = value["until"].isoformat()
    assert list(Draft202012Validator(schema("measures")).iter_errors(data)) == []


def test_measures_yaml_points_editors_at_the_schema(root):
    first = (root / "measures.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=policy_kb/schemas/measures.schema.json"
    assert (root / "policy_kb" / "schemas" / "measures.schema.json").is_file()


def test_json_is_stable(kb):
    profile = {"hnte_valid": True, "employees": 10}
    assert kb.evaluate(profile).to_json() == kb.evaluate(profile).to_json()


def test_unknown_language_is_refused(kb):
    with pytest.raises(policy_kb.UnknownNameError) as raised:
        kb.evaluate({}).to_dict("fr")
    assert re.search("unknown language 'fr'", raised.value.render("en")), raised.value.render("en")
