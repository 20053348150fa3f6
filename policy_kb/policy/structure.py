"""Check the shape of measures.yaml against its JSON Schema and say what is wrong in words.

The schema (``schemas/measures.schema.json``) is the one editors use to complete and check the
file as it is typed; the loader uses the very same file, so the two never disagree. jsonschema
finds the errors; this module turns each into a located sentence with what was expected and,
for a misspelt key or value, the closest known one. It also returns the paths whose shape is
wrong, so the loader builds only the parts that passed (it never re-checks a shape).

Conditions are checked by the condition compiler instead, which explains them better.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import Problem
from ..text import Msg, Text, Words, close_matches, did_you_mean, shown_cut
from .resources import schema
from .yamlsource import OutOfRange, Path, YamlDocument

if TYPE_CHECKING:  # jsonschema is imported when a file is checked (not for a file known clean)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_SECTIONS = {
    "facts": "fact",
    "derived_facts": "derived_fact",
    "parameters": "parameter",
    "categories": "category",
}
_LISTS = {"measures": ("measure", "id"), "benefits": ("benefit", "id"), "towns": ("town", "name")}
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema("measures"))


def describe(data: Any, path: Path) -> Msg:
    """Where ``path`` points, in words: ``measure KM3 › benefit KM3.st_project_priority``."""
    words: list[Msg] = []
    node = data
    i = 0
    while i < len(path):
        key = path[i]
        nxt = path[i + 1] if i + 1 < len(path) else None
        if isinstance(node, Mapping) and key in node:
            child = node[key]
            if key in _LISTS and isinstance(child, list) and isinstance(nxt, int):
                kind, label_key = _LISTS[key]
                item = child[nxt] if nxt < len(child) else None
                label = item.get(label_key) if isinstance(item, Mapping) else None
                shown = label if isinstance(label, str) else f"#{nxt + 1}"
                words.append(Msg("where." + kind, name=shown))
                node, i = item, i + 2
                continue
            if key in _SECTIONS and isinstance(nxt, str):
                words.append(Msg("where." + _SECTIONS[key], name=nxt))
                node = child.get(nxt) if isinstance(child, Mapping) else None
                i += 2
                continue
            if key in ("document", "targets", "tech_sme_evaluation"):
                words.append(Msg("where." + str(key)))
            node = child
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            break
        i += 1
    return Msg("where.chain", parts=Words(words, "chain")) if words else Msg("empty")


def where_in(data: Any, path: Path) -> Msg:
    """``" in measure KM3"`` / ``"措施 KM3 中"``; nothing at the top of the file."""
    where = describe(data, path)
    return Msg("where.in", where=where) if where.key != "empty" else Msg("empty")


def where_of(data: Any, path: Path) -> Msg:
    """``" of measure KM3"`` / ``"措施 KM3 的"``; nothing at the top of the file."""
    where = describe(data, path)
    return Msg("where.of", where=where) if where.key != "empty" else Msg("empty")


def _under_conditions(path: Path) -> bool:
    return any(p in ("conditions", "formula", "when") for p in path if isinstance(p, str))


def check_structure(doc: YamlDocument) -> tuple[list[Problem], set[Path]]:
    """Every structural problem of the document, located, and the paths where they are."""
    problems: list[Problem] = []
    broken: set[Path] = set()
    seen: set[tuple[Path, str]] = set()
    for error in _validator().iter_errors(doc.data):
        path: Path = tuple(error.absolute_path)
        if _under_conditions(path):
            continue
        if error.validator != "additionalProperties":  # an extra key does not break the shape
            broken.add(path)
        for problem in _explain(error, path, doc):
            key = (path, problem.message.key + repr(sorted(problem.message.args.items(), key=str)))
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems, broken


def _explain(error: ValidationError, path: Path, doc: YamlDocument) -> Iterator[Problem]:
    instance = error.instance
    sub = error.schema if isinstance(error.schema, Mapping) else {}
    kind = str(error.validator)
    where = where_in(doc.data, path)
    field = _field_name(path)
    shown = _show(instance)
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        yield from _unknown_keys(instance, sub, path, doc, where)
    elif kind == "required" and isinstance(instance, Mapping):
        declared = set(sub.get("properties", {}))
        misspelt = [str(k) for k in instance if k not in declared]
        for key in sub.get("required", []):
            if key not in instance and not close_matches(key, misspelt, limit=1):
                yield Problem(
                    doc.at(path), Msg("shape.missing", key=key, where=where), _field_hint(sub, key)
                )
    elif kind == "propertyNames":
        at = doc.key_at((*path, instance)) if isinstance(instance, str) else doc.at(path)
        yield Problem(at, Msg("shape.bad_name", name=instance, where=where), Msg("shape.hint.id"))
    elif kind == "type" and isinstance(instance, OutOfRange):  # 1e-400: a number, too small
        yield Problem(
            doc.at(path),
            Msg("shape.is", field=field, where=where, shown=str(instance)),
            Msg("shape.hint.expected", words=Msg("expect.float_range")),
        )
    elif kind == "type":
        wanted = sub.get("type")
        words = Words(
            [Msg("type." + str(w)) for w in (wanted if isinstance(wanted, list) else [wanted])],
            "or",
        )
        expected = sub.get("x-expected")  # a date is a text to JSON Schema, not to its writer
        yield Problem(
            doc.at(path),
            Msg("shape.is", field=field, where=where, shown=shown),
            Msg("shape.hint.literal", text=Text(sub.get("x-expected-zh") or expected, expected))
            if expected
            else Msg("shape.hint.expected", words=words),
        )
    elif kind == "enum":
        allowed = [str(v) for v in sub.get("enum", [])]
        yield Problem(
            doc.at(path),
            Msg("shape.is", field=field, where=where, shown=shown),
            _allowed(str(instance), allowed),
        )
    elif kind == "const":
        yield Problem(
            doc.at(path),
            Msg("shape.is", field=field, where=Msg("empty"), shown=shown),
            Msg("shape.hint.expected", words=repr(sub.get("const"))),
        )
    elif kind == "pattern":
        expected = sub.get("x-expected")
        hint = (
            Msg("shape.hint.literal", text=Text(sub.get("x-expected-zh") or expected, expected))
            if expected
            else Msg("shape.hint.pattern", pattern=sub.get("pattern"))
        )
        yield Problem(doc.at(path), Msg("shape.is", field=field, where=where, shown=shown), hint)
    elif kind in _BOUNDS:
        yield Problem(
            doc.at(path),
            Msg("shape.is", field=field, where=where, shown=shown),
            Msg("shape.hint." + kind, bound=sub.get(kind)),
        )
    elif kind in ("minItems", "minLength", "minProperties"):
        yield Problem(
            doc.at(path), Msg("shape.empty", field=field, where=where), Msg("shape.hint.one_entry")
        )
    elif kind == "maxProperties":
        yield Problem(
            doc.at(path),
            Msg("shape.too_many", field=field, where=where),
            Msg("shape.hint.exactly_one"),
        )
    else:
        yield Problem(
            doc.at(path), Msg("shape.other", field=field, where=where, detail=error.message)
        )


def _unknown_keys(
    instance: Mapping[str, Any], sub: Mapping[str, Any], path: Path, doc: YamlDocument, where: Msg
) -> Iterator[Problem]:
    known = list(sub.get("properties", {}))
    for key in instance:
        if key in known:
            continue
        hint = did_you_mean(str(key), known)
        keys = Words(known)
        expected = (
            Msg("shape.hint.known_keys", hint=hint, keys=keys)
            if hint
            else Msg("hint.one_of", names=keys)
        )
        yield Problem(
            doc.key_at((*path, key)), Msg("shape.unknown_key", key=key, where=where), expected
        )


def _allowed(value: str, allowed: list[str]) -> Msg:
    hint = did_you_mean(value, allowed)
    names = Words(allowed)
    return (
        Msg("shape.hint.allowed", hint=hint, names=names)
        if hint
        else Msg("hint.one_of", names=names)
    )


def _field_name(path: Path) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return f"'{part}'"
    return "—"


def _field_hint(sub: Mapping[str, Any], key: str) -> Msg:
    prop = sub.get("properties", {}).get(key, {})
    desc = prop.get("description") if isinstance(prop, Mapping) else None
    return (
        Msg("shape.hint.add_described", key=key, desc=_in_two(desc))
        if desc
        else Msg("shape.hint.add", key=key)
    )


def _in_two(description: str) -> Text:
    """A schema description written ``中文 — English`` as the two languages' texts (one text for
    both when it is not written so)."""
    zh, sep, en = description.partition(" — ")
    return Text(zh, en) if sep else Text(description, description)


def _show(value: Any) -> Msg:
    if value is None:
        return Msg("show.empty")
    if isinstance(value, bool):
        return Msg("show.literal", text="true" if value else "false")
    if isinstance(value, str):
        return Msg("show.literal", text=shown_cut(repr(value)))
    if isinstance(value, Mapping):
        return Msg("show.mapping")
    if isinstance(value, list):
        return Msg("show.list")
    return Msg("show.literal", text=repr(value))
