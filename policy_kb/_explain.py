"""Sentences in Chinese or English, written from the evaluation records.

Every sentence here is a view of a :class:`~policy_kb._conditions.Trace`: the same record that
the JSON carries. Nothing is decided here, only said.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
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
    Func,
    Negate,
    NotOf,
    ParamRef,
    Trace,
)
from ._model import AUDIENCE_LABELS, BENEFIT_KIND_LABELS, Audience, Benefit, PolicyModel, Status
from ._numbers import plain

if TYPE_CHECKING:
    from ._estimates import EstimateResult
    from ._precheck import Change, IndicatorScore, PrecheckResult, SourceScore
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
_SIMPLE = frozenset({int, float, str, bool, tuple, type(None)})


def status_word(status: Status, lang: str) -> str:
    """适用 / 不适用 / 待定, or the English words."""
    return _STATUS_WORDS[_lang(lang)][status]


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def format_value(value: Any, unit: str | None, lang: str) -> str:
    """A value as people write it: ``1,200,000 元``, ``120 人``, ``是``, ``未知``."""
    lang = _lang(lang)
    if type(value) not in _SIMPLE:
        value = plain(value)
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


_PRECEDENCE = {"+": 1, "-": 1, "*": 2}


def formula_words(expr: Expr, model: PolicyModel, lang: str) -> str:
    """An estimate's formula in words, with brackets where the order needs them:
    ``当年研发费用总额 × (研发费用税前加计扣除比例 − 1)``."""
    lang = _lang(lang)
    pick = {"min": ("取较小值", "min"), "max": ("取较大值", "max")}

    def words(e: Expr, outer: int, right_of_minus: bool) -> str:
        if isinstance(e, Arith):
            level = _PRECEDENCE[e.op]
            op = {"+": "+", "-": "−", "*": "×"}[e.op]
            text = f"{words(e.left, level, False)} {op} {words(e.right, level, e.op == '-')}"
            bracket = level < outer or (right_of_minus and level == outer)
            return f"({text})" if bracket else text
        if isinstance(e, Func):
            name = pick.get(e.name, (e.name, e.name))[0 if lang == "zh" else 1]
            sep = "，" if lang == "zh" else ", "
            inner = sep.join(words(a, 0, False) for a in e.args)
            return f"{name}（{inner}）" if lang == "zh" else f"{name}({inner})"
        if isinstance(e, Negate):
            return f"−{words(e.operand, 3, False)}"
        return _expr_words(e, model, lang)

    return words(expr, 0, False)


def input_words(name: str, value: Any, model: PolicyModel, lang: str) -> str:
    """One input of an estimate: ``当年研发费用总额 = 7,200,000 元``; a rate as a percentage."""
    parameter = model.parameters.get(name)
    label = parameter.label(lang) if parameter else model.fact_label(name, lang)
    unit = parameter.unit if parameter else model.fact_unit(name)
    if unit == "%" and value is not None:  # a rate enters a formula as a fraction
        value = (Decimal(str(plain(value))) * 100).normalize()
        value = int(value) if value == value.to_integral_value() else float(value)
    return f"{label} = {format_value(value, unit, lang)}"


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


def trace_sentence(
    trace: Trace, model: PolicyModel, lang: str, memo: dict[int, str] | None = None
) -> str:
    """Any condition record, said in one sentence (groups say their deciding parts).

    ``memo`` keeps the sentences already written for one evaluation (records are shared between
    benefits that name the same category), so each is written once.
    """
    if memo is None:
        memo = {}
    key = id(trace)
    found = memo.get(key)
    if found is None:
        found = _trace_sentence(trace, model, _lang(lang), memo)
        memo[key] = found
    return found


def _trace_sentence(trace: Trace, model: PolicyModel, lang: str, memo: dict[int, str]) -> str:
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
                trace_sentence(p, model, lang, memo) for p in trace.parts if p.outcome is False
            )
            return f"{neg}{label}（{why}）" if lang == "zh" else f"{label}: no ({why})"
        return f"是否{verb}{label}待定" if lang == "zh" else f"{label}: undetermined"
    if isinstance(cond, AnyOf):
        if trace.outcome is True:
            held = [p for p in trace.parts if p.outcome is True]
            return _SEP[lang].join(trace_sentence(p, model, lang, memo) for p in held[:1])
        names = [_short(p, model, lang, memo) for p in trace.parts]
        if trace.outcome is False:
            return ("不属于下列任一情形：" if lang == "zh" else "none of: ") + (
                "、" if lang == "zh" else ", "
            ).join(names)
        return ("下列任一情形待定：" if lang == "zh" else "undetermined: any of ") + (
            "、" if lang == "zh" else ", "
        ).join(names)
    if isinstance(cond, NotOf):
        inner = trace_sentence(trace.parts[0], model, lang, memo)
        return f"并非（{inner}）" if lang == "zh" else f"not ({inner})"
    parts = [p for p in trace.parts if p.outcome is trace.outcome] or list(trace.parts)
    return _SEP[lang].join(trace_sentence(p, model, lang, memo) for p in parts)


def _short(trace: Trace, model: PolicyModel, lang: str, memo: dict[int, str]) -> str:
    cond = trace.condition
    if isinstance(cond, Flag):
        label = model.fact_label(cond.fact, lang)
        return label if cond.expected else (f"非{label}" if lang == "zh" else f"not {label}")
    if isinstance(cond, CategoryRef):
        return model.categories[cond.category].label(lang)
    return trace_sentence(trace, model, lang, memo)


def benefit_summary(
    result: BenefitResult, model: PolicyModel, lang: str, memo: dict[int, str] | None = None
) -> str:
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
    return word + colon + _SEP[lang].join(trace_sentence(p, model, lang, memo) for p in parts)


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


# ── the pre-check, estimates and changes ─────────────────────────────────────────────────────

_TRI_ZH = {True: "是", False: "否", None: "未知"}
_TRI_EN = {True: "yes", False: "no", None: "unknown"}


def _percent(value: Fraction) -> str:
    return f"{float(value):.1f}%"


def source_sentence(score: SourceScore, model: PolicyModel, lang: str) -> str:
    """One way of scoring, said: ``科技人员数 / 职工总数 = 25.6% → 16 分``."""
    zh = _lang(lang) == "zh"
    src = score.source
    what = model.fact_label(src.numerator, lang)
    if src.denominator is not None:
        what += " / " + model.fact_label(src.denominator, lang)
    if not score.counts:
        if src.denominator is not None and score.unknown:
            return (
                f"{what}：分母未知，不计" if zh else f"{what}: denominator unknown, does not count"
            )
        return f"{what}：分母为 0，不计" if zh else f"{what}: denominator is 0, does not count"
    if score.measured is None:
        missing = join_labels(score.unknown, model, lang)
        return (
            f"{what}：缺少{missing}（{score.low}–{score.high} 分）"
            if zh
            else f"{what}: {missing} unknown ({score.low}–{score.high} points)"
        )
    shown = (
        _percent(score.measured)
        if src.denominator is not None
        else format_value(score.measured, None, lang)
    )
    return f"{what} = {shown} → {score.low} 分" if zh else f"{what} = {shown} → {score.low} points"


def indicator_sentence(score: IndicatorScore, model: PolicyModel, lang: str) -> str:
    """An indicator's points with how they were found."""
    zh = _lang(lang) == "zh"
    ind = score.indicator
    parts = _SEP[_lang(lang)].join(source_sentence(s, model, lang) for s in score.sources)
    if score.points is not None:
        points = f"{score.points} 分" if zh else f"{score.points} points"
    else:
        points = f"{score.low}–{score.high} 分" if zh else f"{score.low}–{score.high} points"
    best = (
        "（取较高者）"
        if zh and len(score.sources) > 1
        else (" (the higher counts)" if len(score.sources) > 1 else "")
    )
    if zh:
        return f"{ind.label(lang)} {points}（满分 {ind.max_points}）：{parts}{best}"
    return f"{ind.label(lang)} {points} (of {ind.max_points}): {parts}{best}"


def precheck_verdict(pre: PrecheckResult, model: PolicyModel, lang: str) -> str:
    """The verdict in one line."""
    zh = _lang(lang) == "zh"
    if pre.qualifies is True:
        if pre.route == "direct":
            return (
                "可通过评价（满足直接认定条件，无须评分）"
                if zh
                else "qualifies (direct route, no score needed)"
            )
        return f"可通过评价（总分 {pre.score} 分）" if zh else f"qualifies (score {pre.score})"
    if pre.qualifies is None:
        missing = join_labels(pre.missing, model, lang)
        return f"待定：缺少{missing}" if zh else f"undetermined: missing {missing}"
    if pre.basic_ok is False:
        failed = [n.label(lang) for n, t in pre.basic if t.outcome is False]
        return (
            ("不能通过评价：不满足基本条件（" + "；".join(failed) + "）")
            if zh
            else ("does not qualify: basic condition not met (" + "; ".join(failed) + ")")
        )
    nonzero_failed = [
        i.indicator.label(lang)
        for i in pre.indicators
        if i.indicator.id in pre.method.nonzero and i.high == 0
    ]
    if nonzero_failed:
        names = "、".join(nonzero_failed) if zh else ", ".join(nonzero_failed)
        return f"不能通过评价：{names}指标为 0 分" if zh else f"does not qualify: {names} scores 0"
    score = pre.score if pre.score is not None else f"{pre.score_low}–{pre.score_high}"
    pass_mark = format_value(pre.pass_score, None, lang)
    return (
        f"不能通过评价：总分 {score} 分，低于 {pass_mark} 分"
        if zh
        else f"does not qualify: score {score} below {pass_mark}"
    )


def precheck_reasons(pre: PrecheckResult, model: PolicyModel, lang: str) -> list[str]:
    """The score card as sentences: basic conditions, direct routes, indicators, total, verdict."""
    zh = _lang(lang) == "zh"
    words = _TRI_ZH if zh else _TRI_EN
    out = []
    groups = (("基本条件", "basic condition", pre.basic), ("直接认定", "direct route", pre.direct))
    for head_zh, head_en, conditions in groups:
        for named, trace in conditions:
            out.append(
                f"{head_zh}｜{named.label(lang)}：{words[trace.outcome]}"
                if zh
                else f"{head_en} | {named.label(lang)}: {words[trace.outcome]}"
            )
    for score in pre.indicators:
        out.append(indicator_sentence(score, model, lang))
    total = pre.score if pre.score is not None else f"{pre.score_low}–{pre.score_high}"
    nonzero = "、".join(i.label(lang) for i in pre.method.indicators if i.id in pre.method.nonzero)
    pass_mark = format_value(pre.pass_score, None, lang)
    if zh:
        out.append(f"总分 {total} 分（合格线 {pass_mark} 分，{nonzero}指标不得为 0 分）")
    else:
        out.append(f"score {total} (pass mark {pass_mark}; {nonzero} must not score 0)")
    out.append(precheck_verdict(pre, model, lang))
    return out


def change_sentence(change: Change, pre: PrecheckResult, model: PolicyModel, lang: str) -> str:
    """``科技人员数增加 2 人（8 → 10）→ 科技人员 10.0% → 4 分 → 总分 64 分``."""
    zh = _lang(lang) == "zh"
    unit = model.fact_unit(change.fact)
    label = model.fact_label(change.fact, lang)
    delta = format_value(change.delta, unit, lang)
    indicator = next(i for i in pre.method.indicators if i.id == change.indicator)
    ratio = any(s.denominator is not None and s.numerator == change.fact for s in indicator.sources)
    measured = _percent(change.measured) if ratio else format_value(change.measured, None, lang)
    current, new = format_value(change.current, None, lang), format_value(change.new, None, lang)
    if zh:
        return (
            f"{label}增加 {delta}（{current} → {new}）→ {indicator.label(lang)} {measured} → "
            f"{change.points} 分 → 总分 {change.score} 分，可通过评价"
        )
    return (
        f"{delta} more {label} ({current} → {new}) → {indicator.label(lang)} {measured} → "
        f"{change.points} points → score {change.score}: qualifies"
    )


def estimate_reason(
    result: EstimateResult, benefit: Benefit, model: PolicyModel, year: int, lang: str
) -> str | None:
    """Why a benefit has no estimated amount (None when it has one)."""
    zh = _lang(lang) == "zh"
    if result.amount is not None:
        return None
    if result.reason == "no_formula":
        note = benefit.amount_note_zh if zh else benefit.amount_note_en
        if note:
            return note
        kind = BENEFIT_KIND_LABELS[benefit.kind][0 if zh else 1]
        return f"原文未规定金额（{kind}）" if zh else f"the text sets no amount for this {kind}"
    if result.reason == "does_not_apply":
        return "不适用，无金额" if zh else "does not apply, so no amount"
    if result.reason == "missing_inputs":
        missing = join_labels(result.missing, model, lang)
        return f"缺少{missing}，无法估算" if zh else f"needs {missing}"
    if result.reason == "no_parameter" and result.parameter:
        label = model.parameters[result.parameter].label(lang)
        return (
            f"{year}年无有效的参数：{label}" if zh else f"no value of {label} is in force in {year}"
        )
    return "无适用的计算公式" if zh else "no formula applies"


ESTIMATE_KINDS = {
    "cash": ("奖励资金", "cash reward"),
    "tax_saving": ("少缴税额", "tax saving"),
    "deduction": ("税前加计扣除额", "extra deduction"),
}


def estimate_sentence(result: EstimateResult, lang: str) -> str:
    """``估算：少缴税额 1,150,000 元`` (with the stacking note when it applies)."""
    zh = _lang(lang) == "zh"
    assert result.amount is not None
    assert result.kind is not None
    kind = ESTIMATE_KINDS[result.kind][0 if zh else 1]
    text = (
        f"估算：{kind} {format_value(result.amount, '元', lang)}"
        if zh
        else f"estimate: {kind} {format_value(result.amount, '元', lang)}"
    )
    if result.conditional:
        text += "（如适用）" if zh else " (if it applies)"
    if result.conflicts_with:
        others = "、".join(result.conflicts_with)
        if zh:
            text += (
                f"；不得与 {others} 同时享受，合计{'计入此项' if result.counted else '取另一项'}"
            )
        else:
            text += f"; cannot be combined with {others}, the total {'counts this one' if result.counted else 'counts the other'}"
    return text
