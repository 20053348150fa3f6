"""Words in one place: the two message catalogues agree, and every sentence the code asks for is in both.

The code names a sentence by its key (``Msg("profile.expected", fact=…)``, ``say(lang, "status.applies")``,
``reader.problem(at, "facts.max_unknown", hint, …)``); the tests read every such call in the package
and check the key exists in zh.yaml and en.yaml, and that the call fills every field either
template uses. No view decides words by language.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "policy_kb"
CATALOGUES = {
    lang: yaml.safe_load((PACKAGE / "text" / f"{lang}.yaml").read_text(encoding="utf-8"))
    for lang in ("zh", "en")
}
#: the calls that name a sentence, and the position of the key among their arguments
CALLS = {"Msg": 0, "say": 1, "label": 0, "problem": 1, "_reject": 1, "_Reject": 1}


def fields(template: str) -> set[str]:
    return {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


def calls() -> list[tuple[str, int, str, set[str] | None]]:
    """(file, line, key, the keyword arguments given — None when ``**`` hides them)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            index = CALLS.get(name or "")
            if index is None or len(node.args) <= index:
                continue
            arg = node.args[index]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and "." in arg.value:
                given = (
                    None
                    if any(k.arg is None for k in node.keywords)
                    else {k.arg for k in node.keywords if k.arg}
                )
                found.append((str(path.relative_to(ROOT)), node.lineno, arg.value, given))
    return found


def test_both_catalogues_hold_the_same_keys():
    assert set(CATALOGUES["zh"]) ^ set(CATALOGUES["en"]) == set()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_key_is_written_once_in_key_order(lang):
    """A key written twice is silently the last one to YAML (a sentence lost without a word);
    keys in order make that, and where a new sentence goes, plain to see."""
    text = (PACKAGE / "text" / f"{lang}.yaml").read_text(encoding="utf-8")
    keys = [m.group(1) for m in re.finditer(r"^([a-z][^:\n]*):", text, re.MULTILINE)]
    assert len(keys) == len(CATALOGUES[lang])
    assert [k for k in set(keys) if keys.count(k) > 1] == []
    assert keys == sorted(keys)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_template_is_a_valid_format_string(lang):
    for key, template in CATALOGUES[lang].items():
        assert isinstance(template, str), key
        fields(template)  # raises on an unbalanced brace


def test_every_sentence_the_code_asks_for_exists_and_gets_its_fields():
    problems = []
    seen = calls()
    assert len(seen) > 300
    for file, line, key, given in seen:
        if key not in CATALOGUES["zh"]:
            problems.append(f"{file}:{line}: no sentence '{key}' in the catalogues")
            continue
        wanted = fields(CATALOGUES["zh"][key]) | fields(CATALOGUES["en"][key])
        if given is not None and not wanted <= given:
            problems.append(f"{file}:{line}: '{key}' needs {sorted(wanted - given)}")
    assert problems == []


def test_chinese_sentences_use_chinese_punctuation_and_english_ones_do_not():
    for key, english in CATALOGUES["en"].items():
        assert not re.search(r"[：；，（）？。]", english), (key, english)


def test_views_never_branch_on_the_language():
    pattern = re.compile(r'lang\s*[!=]=\s*"(zh|en)"|\bif zh\b|\bzh = ')
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("views", "reason", "district", "backends", "rules", "policy")
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


def test_every_unit_measures_yaml_may_name_has_its_words():
    """A unit is looked up as unit.<unit> (the facts table): every unit the schema allows has
    its words in both catalogues, so an edit that uses one never meets a missing sentence."""
    import json

    schema = json.loads((PACKAGE / "schemas" / "measures.schema.json").read_text(encoding="utf-8"))
    units: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            unit = node.get("properties", {}).get("unit", {})
            units.update(unit.get("enum", ()) if isinstance(unit, dict) else ())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert {"元", "人", "%"} <= units
    for lang in ("zh", "en"):
        assert sorted(u for u in units if f"unit.{u}" not in CATALOGUES[lang]) == [], lang


def test_clause_numerals_are_written_and_read_by_one_pair_of_rules():
    """The clause numbers' Chinese numerals were written in one module and read in another, each
    with its own digit table (found by a code review): one pair, each the other's inverse."""
    from policy_kb.text import chinese_numeral, from_chinese

    assert [chinese_numeral(n) for n in (1, 9, 10, 12, 20, 99)] == [
        "一",
        "九",
        "十",
        "十二",
        "二十",
        "九十九",
    ]
    assert all(from_chinese(chinese_numeral(n)) == n for n in range(1, 100))
    assert [from_chinese(x) for x in ("零", "十十", "三(七)", "")] == [None, None, None, None]
