"""Sentences in Chinese or English, written from the evaluation records.

Every sentence here is a view of a :class:`~policy_kb._conditions.Trace`: the same record that
the JSON carries. Nothing is decided here, only said.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._conditions import (
    AnyOf,
    Arith,
    CategoryRef,
    Comparison,
    Const,
    Expr,
    FactRef,
    Flag,
    Negate,
    NotOf,
    ParamRef,
    Trace,
)
from ._model import AUDIENCE_LABELS, Audience, PolicyModel, Status

if TYPE_CHECKING:
    from ._results import BenefitResult, MeasureResult

_OPS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠", "in": "∈", "not in": "∉"}
_STATUS_WORDS = {
    "zh": {Status.APPLIES: "适用", Status.DOES_NOT_APPLY: "不适用", Status.UNDETERMINED: "待定"},
    "en": {
        Status.APPLIES: "applies",
        Status.DOES_NOT_APPLY: "does not apply",
        Status.UNDETERMINED: "undetermined",
    },
}
_SEP = {"zh": "；", "en": "; "}


def status_word(status: Status, lang: str) -> str:
    """适用 / 不适用 / 待定, or the English words."""
    return _STATUS_WORDS[_lang(lang)][status]


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def format_value(value: Any, unit: str | None, lang: str) -> str:
    """A value as people write it: ``1,200,000 元``, ``120 人``, ``是``, ``未知``."""
    lang = _lang(lang)
    if value is None:
        return "未知" if lang == "zh" else "unknown"
    if isinstance(value, bool):
        if lang == "zh":
            return "是" if value else "否"
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        number = int(value) if isinstance(value, float) and value.is_integer() else value
        text = f"{number:,}" if isinstance(number, int) else f"{number:,.2f}"
        if unit == "%":
            return f"{text}%"
        if unit == "元":
            return f"{text} 元" if lang == "zh" else f"CNY {text}"
        if unit and lang == "zh":
            return f"{text} {unit}"
        return text
    if isinstance(value, tuple):
        return (
            "、".join(str(v) for v in value) if lang == "zh" else ", ".join(str(v) for v in value)
        )
    return str(value)


def _expr_words(expr: Expr, model: PolicyModel, lang: str) -> str:
    if isinstance(expr, FactRef):
        return model.fact_label(expr.name, lang)
    if isinstance(expr, ParamRef):
        return model.parameters[expr.name].label(lang)
    if isinstance(expr, Const):
        return format_value(expr.literal, None, lang)
    if isinstance(expr, Arith):
        op = {"+": "+", "-": "−", "*": "×"}[expr.op]
        return f"{_expr_words(expr.left, model, lang)} {op} {_expr_words(expr.right, model, lang)}"
    if isinstance(expr, Negate):
        return f"−{_expr_words(expr.operand, model, lang)}"
    return str(expr)


def _expr_unit(expr: Expr, model: PolicyModel) -> str | None:
    if isinstance(expr, FactRef):
        return model.fact_unit(expr.name)
    if isinstance(expr, ParamRef):
        return model.parameters[expr.name].unit
    if isinstance(expr, Arith):
        return _expr_unit(expr.left, model) or _expr_unit(expr.right, model)
    if isinstance(expr, Negate):
        return _expr_unit(expr.operand, model)
    return None


def leaf_sentence(trace: Trace, model: PolicyModel, lang: str) -> str:
    """One leaf condition, said: ``职工总数 600 人，不满足 ≤ 500 人``."""
    lang = _lang(lang)
    cond = trace.condition
    if isinstance(cond, Flag):
        label = model.fact_label(cond.fact, lang)
        value = trace.facts.get(cond.fact)
        shown = format_value(value, None, lang)
        if trace.outcome is False:
            wanted = format_value(cond.expected, None, lang)
            return (
                f"{label}：{shown}（要求：{wanted}）"
                if lang == "zh"
                else f"{label}: {shown} (required: {wanted})"
            )
        return f"{label}：{shown}" if lang == "zh" else f"{label}: {shown}"
    if isinstance(cond, Comparison):
        unit = _expr_unit(cond.left, model) or _expr_unit(cond.right, model)
        subject = cond.left if cond.left.facts() or not cond.right.facts() else cond.right
        op = cond.op if subject is cond.left else _flip(cond.op)
        other = cond.right if subject is cond.left else cond.left
        label = _expr_words(subject, model, lang)
        value = _value_of(subject, trace)
        threshold = (
            format_value(trace.threshold, unit, lang)
            if trace.threshold is not None
            else _expr_words(other, model, lang)
        )
        if isinstance(other, Const) and isinstance(other.literal, tuple):
            threshold = format_value(other.literal, None, lang)
        sym = _OPS[op]
        if trace.outcome is None:
            return (
                f"{label}：未知（要求 {sym} {threshold}）"
                if lang == "zh"
                else f"{label}: unknown (needs {sym} {threshold})"
            )
        shown = format_value(value, unit, lang)
        if trace.outcome:
            return f"{label} {shown} {sym} {threshold}"
        return (
            f"{label} {shown}，不满足 {sym} {threshold}"
            if lang == "zh"
            else f"{label} {shown}, not {sym} {threshold}"
        )
    return cond.text


def _flip(op: str) -> str:
    return {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)


def _value_of(expr: Expr, trace: Trace) -> Any:
    if isinstance(expr, FactRef):
        return trace.facts.get(expr.name)
    if isinstance(expr, Arith):
        a, b = _value_of(expr.left, trace), _value_of(expr.right, trace)
        if a is None or b is None:
            return None
        return {"+": a + b, "-": a - b, "*": a * b}[expr.op]
    if isinstance(expr, Const):
        return expr.literal
    if isinstance(expr, Negate):
        v = _value_of(expr.operand, trace)
        return None if v is None else -v
    return None


def trace_sentence(trace: Trace, model: PolicyModel, lang: str) -> str:
    """Any condition record, said in one sentence (groups say their deciding parts)."""
    lang = _lang(lang)
    cond = trace.condition
    if cond.is_leaf:
        return leaf_sentence(trace, model, lang)
    if isinstance(cond, CategoryRef):
        category = model.categories[cond.category]
        label = category.label(lang)
        verb, neg = ("符合", "不符合") if label.endswith("条件") else ("属于", "不属于")
        if trace.outcome is True:
            return f"{verb}{label}" if lang == "zh" else f"{label}: yes"
        if trace.outcome is False:
            why = _SEP[lang].join(
                trace_sentence(p, model, lang) for p in trace.parts if p.outcome is False
            )
            return f"{neg}{label}（{why}）" if lang == "zh" else f"{label}: no ({why})"
        return f"是否{verb}{label}待定" if lang == "zh" else f"{label}: undetermined"
    if isinstance(cond, AnyOf):
        if trace.outcome is True:
            held = [p for p in trace.parts if p.outcome is True]
            return _SEP[lang].join(trace_sentence(p, model, lang) for p in held[:1])
        names = [_short(p, model, lang) for p in trace.parts]
        if trace.outcome is False:
            return ("不属于下列任一情形：" if lang == "zh" else "none of: ") + (
                "、" if lang == "zh" else ", "
            ).join(names)
        return ("下列任一情形待定：" if lang == "zh" else "undetermined: any of ") + (
            "、" if lang == "zh" else ", "
        ).join(names)
    if isinstance(cond, NotOf):
        inner = trace_sentence(trace.parts[0], model, lang)
        return f"并非（{inner}）" if lang == "zh" else f"not ({inner})"
    parts = [p for p in trace.parts if p.outcome is trace.outcome] or list(trace.parts)
    return _SEP[lang].join(trace_sentence(p, model, lang) for p in parts)


def _short(trace: Trace, model: PolicyModel, lang: str) -> str:
    cond = trace.condition
    if isinstance(cond, Flag):
        label = model.fact_label(cond.fact, lang)
        return label if cond.expected else (f"非{label}" if lang == "zh" else f"not {label}")
    if isinstance(cond, CategoryRef):
        return model.categories[cond.category].label(lang)
    return trace_sentence(trace, model, lang)


def benefit_summary(result: BenefitResult, model: PolicyModel, lang: str) -> str:
    """The one-line reason for a benefit's status."""
    lang = _lang(lang)
    trace = result.trace
    word = status_word(result.status, lang)
    colon = "：" if lang == "zh" else ": "
    if result.status is Status.UNDETERMINED:
        labels = join_labels(result.missing, model, lang)
        return f"{word}{colon}" + (f"缺少{labels}" if lang == "zh" else f"missing {labels}")
    wanted = trace.outcome
    parts = [p for p in trace.parts if p.outcome is wanted]
    return word + colon + _SEP[lang].join(trace_sentence(p, model, lang) for p in parts)


def measure_summary(result: MeasureResult, model: PolicyModel, lang: str) -> str:
    """The one-line reason for a measure's status."""
    lang = _lang(lang)
    if not result.benefits:
        audience = AUDIENCE_LABELS[result.measure.audience][0 if lang == "zh" else 1]
        if lang == "zh":
            return f"不适用：本措施面向{audience}，不直接给予企业待遇"
        return f"does not apply: this measure is addressed to {audience}, not to enterprises"
    counts = {s: sum(1 for b in result.benefits if b.status is s) for s in Status}
    total = len(result.benefits)
    word = status_word(result.status, lang)
    if lang == "zh":
        return f"{word}：{total} 项待遇中 {counts[Status.APPLIES]} 项适用、{counts[Status.UNDETERMINED]} 项待定"
    return f"{word}: {counts[Status.APPLIES]} of {total} benefits apply, {counts[Status.UNDETERMINED]} undetermined"


def town_measure_sentence(
    status: Status, audience: Audience, target: int | None, unit: str, lang: str
) -> str:
    """Why a measure does or does not apply to a town."""
    lang = _lang(lang)
    who = AUDIENCE_LABELS[audience][0 if lang == "zh" else 1]
    if status is Status.APPLIES:
        if target is not None:
            return (
                f"适用：各镇、开发区须完成入库评价目标 {target} {unit}"
                if lang == "zh"
                else f"applies: the town's evaluation target is {target}"
            )
        return (
            "适用：本措施面向各镇、开发区"
            if lang == "zh"
            else "applies: addressed to towns and development zones"
        )
    return f"不适用：本措施面向{who}" if lang == "zh" else f"does not apply: addressed to {who}"


def join_labels(facts: Sequence[str], model: PolicyModel, lang: str) -> str:
    return ("、" if _lang(lang) == "zh" else ", ").join(model.fact_label(f, lang) for f in facts)
