"""Check the shape of measures.yaml against its JSON Schema and say what is wrong in words.

The schema (``schemas/measures.schema.json``) is the one editors use to complete and check the
file as it is typed; the loader uses the very same file, so the two never disagree. jsonschema
finds the errors; this module turns each into a located sentence with what was expected and,
for a misspelt key or value, the closest known one.

Conditions are checked by the condition compiler instead, which explains them better.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ._errors import Problem
from ._resources import schema
from ._suggest import close_matches, did_you_mean
from ._yamlsource import Path, YamlDocument

_TYPE_WORDS = {
    "string": "a text",
    "integer": "a whole number",
    "number": "a number",
    "object": "a mapping of keys to values",
    "array": "a list",
    "boolean": "true or false",
    "null": "nothing",
}


def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema("measures"))


def describe(data: Any, path: Path) -> str:
    """Words for where ``path`` points: ``measure KM3 › benefit KM3.st_project_priority``."""
    words: list[str] = []
    node = data
    i = 0
    while i < len(path):
        key = path[i]
        if isinstance(node, Mapping) and key in node:
            child = node[key]
            nxt = path[i + 1] if i + 1 < len(path) else None
            if key in ("measures", "benefits") and isinstance(child, list) and isinstance(nxt, int):
                item = child[nxt] if nxt < len(child) else None
                label = item.get("id") if isinstance(item, Mapping) else None
                kind = "measure" if key == "measures" else "benefit"
                words.append(f"{kind} {label}" if isinstance(label, str) else f"{kind} #{nxt + 1}")
                node = item
                i += 2
                continue
            if key in ("facts", "derived_facts", "parameters", "categories") and isinstance(
                nxt, str
            ):
                kind = {
                    "facts": "fact",
                    "derived_facts": "derived fact",
                    "parameters": "parameter",
                    "categories": "category",
                }[key]
                words.append(f"{kind} {nxt}")
                node = child.get(nxt) if isinstance(child, Mapping) else None
                i += 2
                continue
            if key == "towns" and isinstance(child, list) and isinstance(nxt, int):
                item = child[nxt] if nxt < len(child) else None
                label = item.get("name") if isinstance(item, Mapping) else None
                words.append(f"town {label}" if isinstance(label, str) else f"town #{nxt + 1}")
                node = item
                i += 2
                continue
            if key in ("document", "targets"):
                words.append(key)
            node = child
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            break
        i += 1
    return " › ".join(words)


def _in(data: Any, path: Path) -> str:
    where = describe(data, path)
    return f" in {where}" if where else ""


def _under_conditions(path: Path) -> bool:
    return any(p in ("conditions", "formula") for p in path if isinstance(p, str))


def check_structure(doc: YamlDocument) -> list[Problem]:
    """Every structural problem of the document, located; an empty list when the shape is right."""
    problems: list[Problem] = []
    seen: set[tuple[Path, str]] = set()
    for error in _errors(doc.data):
        path: Path = tuple(error.absolute_path)
        if _under_conditions(path):
            continue
        for problem in _explain(error, path, doc):
            key = (path, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems


def _errors(data: Any) -> Iterator[ValidationError]:
    yield from _validator().iter_errors(data)


def _explain(error: ValidationError, path: Path, doc: YamlDocument) -> Iterator[Problem]:
    data = doc.data
    instance = error.instance
    sub = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    where = _in(data, path)
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        known = list(sub.get("properties", {}))
        for key in instance:
            if key in known:
                continue
            hint = did_you_mean(str(key), known)
            expected = "one of: " + ", ".join(known)
            if hint:
                expected = f"{hint} Known keys: " + ", ".join(known)
            yield Problem(doc.key_at((*path, key)), f"unknown key '{key}'{where}", expected)
        return
    if kind == "required" and isinstance(instance, Mapping):
        declared = set(sub.get("properties", {}))
        misspelt = [str(k) for k in instance if k not in declared]
        for key in sub.get("required", []):
            if key not in instance and not close_matches(key, misspelt, limit=1):
                yield Problem(
                    doc.at(path),
                    f"missing required field '{key}'{where}",
                    _field_hint(sub, key),
                )
        return
    if kind == "propertyNames":
        name = instance
        yield Problem(
            doc.key_at((*path, name)) if isinstance(name, str) else doc.at(path),
            f"'{name}' is not a valid name{where}",
            "a lower-case English id: letters, digits and _ (for example rd_expense)",
        )
        return
    if kind == "type":
        wanted = sub.get("type")
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        words = " or ".join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted_list)
        yield Problem(
            doc.at(path),
            f"{_field_name(path)}{where} is {_show(instance)}",
            f"expected {words}",
        )
        return
    if kind == "enum":
        allowed = [str(v) for v in sub.get("enum", [])]
        hint = did_you_mean(str(instance), allowed)
        expected = "one of: " + ", ".join(allowed)
        if hint:
            expected = f"{hint} Allowed: " + ", ".join(allowed)
        yield Problem(doc.at(path), f"{_field_name(path)}{where} is {_show(instance)}", expected)
        return
    if kind == "const":
        yield Problem(
            doc.at(path),
            f"{_field_name(path)} is {_show(instance)}",
            f"expected {sub.get('const')!r}",
        )
        return
    if kind == "pattern":
        expected = sub.get("x-expected") or f"text matching {sub.get('pattern')}"
        yield Problem(doc.at(path), f"{_field_name(path)}{where} is {_show(instance)}", expected)
        return
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = sub.get(kind)
        word = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[kind]
        yield Problem(
            doc.at(path), f"{_field_name(path)}{where} is {_show(instance)}", f"{word} {bound}"
        )
        return
    if kind in ("minItems", "minLength", "minProperties"):
        yield Problem(doc.at(path), f"{_field_name(path)}{where} is empty", "at least one entry")
        return
    if kind == "maxProperties":
        yield Problem(doc.at(path), f"{_field_name(path)}{where} has too many keys", "exactly one")
        return
    yield Problem(doc.at(path), f"{_field_name(path)}{where}: {error.message}")


def _field_name(path: Path) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return f"'{part}'"
    return "the value"


def _field_hint(sub: Mapping[str, Any], key: str) -> str:
    prop = sub.get("properties", {}).get(key, {})
    desc = prop.get("description") if isinstance(prop, Mapping) else None
    return f"add '{key}:' — {desc}" if desc else f"add '{key}:'"


def _show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
