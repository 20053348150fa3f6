"""The explanation back-end: sentences written from the evaluation records, in either language.

Every sentence is a view of a :class:`~policy_kb.backends.trace.Trace` (or of a result read off
one): the same record the JSON carries. Nothing is decided here, only said, and every word comes
from the message catalogue (:mod:`policy_kb.text`): there is no language branch in this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from ..backends.trace import Trace
from ..policy.model import Audience, Benefit, BenefitKind, EvaluationMethod, PolicyModel, Status
from ..reason.nearmiss import Gap
from ..reason.results import (
    BenefitResult,
    Change,
    EstimateResult,
    IndicatorScore,
    MeasureResult,
    PrecheckResult,
    SourceScore,
)
from ..rules.interval import INF
from ..rules.tree import (
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
)
from ..rules.walk import facts_in
from ..text import Words, format_value, plain, say

_OPS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠", "in": "∈", "not in": "∉"}
_ARITH = {"+": "+", "-": "−", "*": "×"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2}
_TRI = {True: "tri.yes", False: "tri.no", None: "tri.unknown"}
_MET = {True: "met.yes", False: "met.no", None: "met.unknown"}  # a condition: 满足 / 不满足 / 待定


@cache
def status_word(status: Status, lang: str) -> str:
    """适用 / 不适用 / 待定, or the English words (the catalogue's, looked up once)."""
    return say(lang, "status." + status.value)


def audience_word(audience: Audience, lang: str) -> str:
    return say(lang, "audience." + audience.value)


def kind_word(kind: BenefitKind, lang: str) -> str:
    return say(lang, "benefit_kind." + kind.value)


def estimate_kind_word(kind: str, lang: str) -> str:
    return say(lang, "estimate_kind." + kind)


def labels(facts: Sequence[str], model: PolicyModel, lang: str) -> str:
    """The labels of some facts, listed: ``职工总数、年销售收入``."""
    return Words([model.fact_label(f)[lang] for f in facts]).render(lang)


# ── formulas ─────────────────────────────────────────────────────────────────────────────────


def expr_words(expr: Expr, model: PolicyModel, lang: str) -> str:
    """An expression in words (labels instead of ids)."""
    if isinstance(expr, FactRef):
        return model.fact_label(expr.name)[lang]
    if isinstance(expr, ParamRef):
        return model.parameters[expr.name].label[lang]
    if isinstance(expr, Const):
        return format_value(expr.literal, None, lang)
    if isinstance(expr, Arith):
        return f"{expr_words(expr.left, model, lang)} {_ARITH[expr.op]} {expr_words(expr.right, model, lang)}"
    if isinstance(expr, Negate):
        return f"−{expr_words(expr.operand, model, lang)}"
    return str(expr)


def formula_words(expr: Expr, model: PolicyModel, lang: str) -> str:
    """An estimate's formula in words, with brackets where the order needs them:
    ``当年研发费用总额 × (研发费用税前加计扣除比例 − 1)``."""

    def words(e: Expr, outer: int, right_of_minus: bool) -> str:
        if isinstance(e, Arith):
            level = _PRECEDENCE[e.op]
            text = (
                f"{words(e.left, level, False)} {_ARITH[e.op]} {words(e.right, level, e.op == '-')}"
            )
            bracket = level < outer or (right_of_minus and level == outer)
            return f"({text})" if bracket else text
        if isinstance(e, Func):
            inner = say(lang, "join.comma").join(words(a, 0, False) for a in e.args)
            return say(lang, "formula.call", name=say(lang, "formula." + e.name), args=inner)
        if isinstance(e, Negate):
            return f"−{words(e.operand, 3, False)}"
        return expr_words(e, model, lang)

    return words(expr, 0, False)


def input_words(name: str, value: Any, model: PolicyModel, lang: str) -> str:
    """One input of an estimate: ``当年研发费用总额 = 7,200,000 元``; a rate as a percentage."""
    parameter = model.parameters.get(name)
    label = parameter.label[lang] if parameter else model.fact_label(name)[lang]
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
    if isinstance(expr, (Arith, Negate)):
        return next(
            (u for c in expr.children() if isinstance(c, Expr) and (u := _expr_unit(c, model))),
            None,
        )
    return None


# ── conditions ───────────────────────────────────────────────────────────────────────────────


def leaf_sentence(trace: Trace, model: PolicyModel, lang: str) -> str:
    """One leaf condition, said: ``职工总数 600 人，不满足 ≤ 500 人``.

    The words that do not depend on the profile (the label, the operator, the threshold) are
    written once per condition and language and kept by the plan (:class:`LeafWords`)."""
    cond = trace.condition
    if not isinstance(cond, (Flag, Comparison)):
        return cond.text
    found: LeafWords = trace.record.plan.keep(
        ("leaf words", id(cond), lang), LeafWords, cond, model, lang
    )
    return found(trace)


_HOLE = "\x00"  # where the one argument left out of a sentence goes (no label holds it)
_KEPT_THRESHOLDS = 16  # thresholds said per condition before the rest are said afresh


class LeafWords:
    """A leaf condition's sentences, with everything but the value written once.

    A flag has six sentences at most (its value yes / no / unknown, failed or not), all kept. A
    comparison keeps its label and operator, and for each threshold (one per year's parameters)
    the sentence before and after the shown value; a value decided by an unknown fact's range is
    said afresh."""

    __slots__ = (
        "cond",
        "flag",
        "kept",
        "label",
        "lang",
        "model",
        "op",
        "other",
        "subject",
        "unit",
    )

    def __init__(self, cond: Flag | Comparison, model: PolicyModel, lang: str) -> None:
        self.cond, self.model, self.lang = cond, model, lang
        self.kept: dict[Any, Any] = {}
        self.flag = isinstance(cond, Flag)
        if isinstance(cond, Flag):
            self.label = model.fact_label(cond.fact)[lang]
            return
        self.unit = _expr_unit(cond.left, model) or _expr_unit(cond.right, model)
        left_side = bool(facts_in(cond.left)) or not facts_in(cond.right)
        self.subject, self.other = (cond.left, cond.right) if left_side else (cond.right, cond.left)
        op = (
            cond.op
            if left_side
            else {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(cond.op, cond.op)
        )
        self.op = _OPS[op]
        self.label = expr_words(self.subject, model, lang)

    def __call__(self, trace: Trace) -> str:
        cond, lang = self.cond, self.lang
        if self.flag:
            assert isinstance(cond, Flag)
            value = trace.facts.get(cond.fact)
            fails = trace.outcome is False
            found = self.kept.get((fails, value))
            if found is None:
                shown = format_value(value, None, lang)
                found = self.kept[(fails, value)] = (
                    say(
                        lang,
                        "leaf.flag_fails",
                        label=self.label,
                        shown=shown,
                        wanted=format_value(cond.expected, None, lang),
                    )
                    if fails
                    else say(lang, "leaf.flag", label=self.label, shown=shown)
                )
            return str(found)
        outcome = trace.outcome
        raw = trace.threshold
        value = _value_of(self.subject, trace) if outcome is not None else None
        if outcome is not None and value is None:  # decided by the range an unknown fact leaves
            key = "leaf.holds_range" if outcome else "leaf.fails_range"
            return say(
                lang,
                key,
                label=self.label,
                range=_range_words(trace.record.of(self.subject), self.unit, lang),
                op=self.op,
                threshold=self._threshold(raw),
            )
        keyable = raw is None or type(raw) in (int, float, str, bool, tuple)
        kept = self.kept.get((outcome, raw)) if keyable else None
        if kept is None:
            threshold = self._threshold(raw)
            if outcome is None:
                kept = (
                    say(lang, "leaf.unknown", label=self.label, op=self.op, threshold=threshold),
                )
            else:
                sentence = say(
                    lang,
                    "leaf.holds" if outcome else "leaf.fails",
                    label=self.label,
                    shown=_HOLE,
                    op=self.op,
                    threshold=threshold,
                )
                kept = tuple(sentence.split(_HOLE))
            if keyable and len(self.kept) < _KEPT_THRESHOLDS and len(kept) <= 2:
                self.kept[(outcome, raw)] = kept
        if len(kept) == 1:
            return str(kept[0])
        if len(kept) != 2:  # a label holding the hole itself: say it whole
            return say(
                lang,
                "leaf.holds" if outcome else "leaf.fails",
                label=self.label,
                shown=format_value(value, self.unit, lang),
                op=self.op,
                threshold=self._threshold(raw),
            )
        return f"{kept[0]}{format_value(value, self.unit, lang)}{kept[1]}"

    def _threshold(self, raw: Any) -> str:
        other, lang = self.other, self.lang
        if isinstance(other, Const) and isinstance(other.literal, tuple):
            return format_value(other.literal, None, lang)
        if raw is not None:
            return format_value(raw, self.unit, lang)
        return expr_words(other, self.model, lang)


def _range_words(span: Any, unit: str | None, lang: str) -> str:
    lo, hi = (plain(x) for x in span)
    if lo == -INF:
        return say(lang, "range.at_most", hi=format_value(hi, unit, lang))
    if hi == INF:
        return say(lang, "range.at_least", lo=format_value(lo, unit, lang))
    return say(
        lang, "range.between", lo=format_value(lo, unit, lang), hi=format_value(hi, unit, lang)
    )


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

    ``memo`` keeps the sentences already written for one evaluation (a category's record is shared
    by every benefit that names it), so each is written once.
    """
    if memo is None:
        memo = {}
    key = id(trace.node)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _trace_sentence(trace, model, lang, memo)
    return found


def _trace_sentence(trace: Trace, model: PolicyModel, lang: str, memo: dict[int, str]) -> str:
    cond = trace.condition
    if cond.is_leaf:
        return leaf_sentence(trace, model, lang)
    if isinstance(cond, CategoryRef):
        category = model.categories[cond.category]
        label = category.label[lang]
        style = category.reads_as
        if trace.outcome is None:
            return say(lang, f"category.unknown.{style}", label=label)
        if trace.outcome:
            return say(lang, f"category.holds.{style}", label=label)
        why = Words(
            [trace_sentence(p, model, lang, memo) for p in trace.parts if p.outcome is False],
            "semi",
        )
        return say(lang, f"category.fails.{style}", label=label, why=why)
    if isinstance(cond, AnyOf):
        if trace.outcome is True:
            held = [p for p in trace.parts if p.outcome is True]
            return trace_sentence(held[0], model, lang, memo)
        names = Words([_short(p, model, lang, memo) for p in trace.parts])
        return say(lang, "any.fails" if trace.outcome is False else "any.unknown", names=names)
    if isinstance(cond, NotOf):
        return say(lang, "not", inner=trace_sentence(trace.parts[0], model, lang, memo))
    parts = [p for p in trace.parts if p.outcome is trace.outcome] or list(trace.parts)
    return Words([trace_sentence(p, model, lang, memo) for p in parts], "semi").render(lang)


def _short(trace: Trace, model: PolicyModel, lang: str, memo: dict[int, str]) -> str:
    cond = trace.condition
    if isinstance(cond, Flag):
        label = model.fact_label(cond.fact)[lang]
        return label if cond.expected else say(lang, "flag.not", label=label)
    if isinstance(cond, CategoryRef):
        return model.categories[cond.category].label[lang]
    return trace_sentence(trace, model, lang, memo)


def benefit_summary(
    result: BenefitResult, model: PolicyModel, lang: str, memo: dict[int, str] | None = None
) -> str:
    """The one-line reason for a benefit's status."""
    word = status_word(result.status, lang)
    if result.status is Status.UNDETERMINED:
        return say(lang, "summary.missing", word=word, labels=labels(result.missing, model, lang))
    wanted = result.trace.outcome
    parts = [
        trace_sentence(p, model, lang, memo) for p in result.trace.parts if p.outcome is wanted
    ]
    return say(lang, "summary.because", word=word, why=say(lang, "join.semi").join(parts))


def measure_summary(result: MeasureResult, model: PolicyModel, lang: str) -> str:
    """The one-line reason for a measure's status."""
    if not result.benefits:
        return say(
            lang,
            "measure.not_for_enterprises",
            audience=audience_word(result.measure.audience, lang),
        )
    counts = {s: sum(1 for b in result.benefits if b.status is s) for s in Status}
    return say(
        lang,
        "measure.counts",
        word=status_word(result.status, lang),
        total=len(result.benefits),
        applies=counts[Status.APPLIES],
        undetermined=counts[Status.UNDETERMINED],
    )


def town_measure_sentence(
    status: Status, audience: Audience, target: int | None, unit: str, lang: str
) -> str:
    """Why a measure does or does not apply to a town."""
    if status is Status.APPLIES:
        if target is not None:
            return say(lang, "town.target", target=target, unit=unit)
        return say(lang, "town.addressed")
    return say(lang, "town.not_addressed", who=audience_word(audience, lang))


# ── the pre-check, estimates and changes ─────────────────────────────────────────────────────


def percent(value: Fraction) -> str:
    return f"{float(value):.1f}%"


def source_sentence(
    score: SourceScore, model: PolicyModel, lang: str, table: dict[Any, Any] | None = None
) -> str:
    """One way of scoring, said: ``科技人员数 / 职工总数 = 25.6% → 16 分`` (``table``: where the
    words of what it measures are kept, a plan's, so that they are written once)."""
    src = score.source
    key = ("source words", id(src), lang)
    what = table.get(key) if table is not None else None
    if what is None:
        what = expr_words(src.numerator, model, lang)
        if src.denominator is not None:
            what += " / " + expr_words(src.denominator, model, lang)
        if table is not None:
            table[key] = what
    if not score.counts:
        return say(lang, "source.zero_denominator", what=what)
    if score.measured is None:
        missing = labels(score.unknown, model, lang)
        if score.low == score.high:
            return say(lang, "source.unknown_point", what=what, missing=missing, points=score.low)
        return say(
            lang, "source.unknown", what=what, missing=missing, low=score.low, high=score.high
        )
    shown = (
        percent(score.measured)
        if src.denominator is not None
        else format_value(score.measured, None, lang)
    )
    return say(lang, "source.points", what=what, shown=shown, points=score.low)


def points_words(low: int, high: int, lang: str) -> str:
    return (
        say(lang, "points", n=low) if low == high else say(lang, "points_range", low=low, high=high)
    )


def indicator_sentence(
    score: IndicatorScore, model: PolicyModel, lang: str, said: Mapping[int, str] | None = None
) -> str:
    """An indicator's points with how they were found (``said``: the sentences of its sources
    already written, by ``id`` of the source's score)."""
    ind = score.indicator
    said = said or {}
    parts = Words(
        [said.get(id(s)) or source_sentence(s, model, lang) for s in score.sources], "semi"
    )
    best = say(lang, "indicator.higher") if len(score.sources) > 1 else ""
    return say(
        lang,
        "indicator",
        label=ind.label[lang],
        points=points_words(score.low, score.high, lang),
        max=ind.max_points,
        parts=parts,
        best=best,
    )


def _score_words(pre: PrecheckResult) -> str:
    return str(pre.score) if pre.score is not None else f"{pre.score_low}–{pre.score_high}"


def precheck_verdict(pre: PrecheckResult, model: PolicyModel, lang: str) -> str:
    """The verdict in one line."""
    if pre.qualifies is True:
        if pre.route == "direct":
            return say(lang, "verdict.direct")
        return say(lang, "verdict.score", score=pre.score)
    if pre.qualifies is None:
        return say(lang, "verdict.undetermined", missing=labels(pre.missing, model, lang))
    if pre.basic_ok is False:
        failed = Words([n.label[lang] for n, t in pre.basic if t.outcome is False], "semi")
        return say(lang, "verdict.basic", failed=failed)
    nonzero = [
        i.indicator.label[lang]
        for i in pre.indicators
        if i.indicator.id in pre.method.nonzero and i.high == 0
    ]
    if nonzero:
        return say(lang, "verdict.nonzero", names=Words(nonzero))
    return say(
        lang,
        "verdict.low",
        score=_score_words(pre),
        pass_mark=format_value(pre.pass_score, None, lang),
    )


def _precheck_line(head: str, label: str, word: str, lang: str) -> str:
    return say(lang, head, label=label, word=say(lang, word))


def precheck_reasons(
    pre: PrecheckResult, model: PolicyModel, lang: str, said: Mapping[int, str] | None = None
) -> list[str]:
    """The score card as sentences: basic conditions, direct routes, indicators, total, verdict.

    A condition's line depends on its outcome alone: it is written once per language and kept
    by the plan. ``said`` are the source sentences already written (see
    :func:`indicator_sentence`)."""
    out = []
    for head, conditions, words in (
        ("precheck.basic", pre.basic, _MET),  # conditions, some negative: met / not met
        ("precheck.direct", pre.direct, _TRI),  # facts the enterprise has: yes / no
    ):
        for named, trace in conditions:
            out.append(
                trace.record.plan.keep(
                    ("precheck line", head, id(named), trace.outcome, lang),
                    _precheck_line,
                    head,
                    named.label[lang],
                    words[trace.outcome],
                    lang,
                )
            )
    out += [indicator_sentence(score, model, lang, said) for score in pre.indicators]
    nonzero = Words([i.label[lang] for i in pre.method.indicators if i.id in pre.method.nonzero])
    out.append(
        say(
            lang,
            "precheck.total",
            total=_score_words(pre),
            pass_mark=format_value(pre.pass_score, None, lang),
            nonzero=nonzero,
        )
    )
    out.append(precheck_verdict(pre, model, lang))
    return out


def change_sentence(change: Change, method: EvaluationMethod, model: PolicyModel, lang: str) -> str:
    """``科技人员数增加 2 人（8 → 10）→ 科技人员 10.0% → 4 分 → 总分 64 分，可通过评价``."""
    indicator = next(i for i in method.indicators if i.id == change.indicator)
    ratio = any(
        s.denominator is not None and str(s.numerator) == change.fact for s in indicator.parts
    )
    return say(
        lang,
        "change",
        label=model.fact_label(change.fact)[lang],
        delta=format_value(change.delta, model.fact_unit(change.fact), lang),
        current=format_value(change.current, None, lang),
        new=format_value(change.new, None, lang),
        indicator=indicator.label[lang],
        measured=percent(change.measured) if ratio else format_value(change.measured, None, lang),
        points=change.points,
        score=change.score,
    )


def estimate_reason(
    result: EstimateResult, benefit: Benefit, model: PolicyModel, year: int, lang: str
) -> str | None:
    """Why a benefit has no estimated amount (None when it has one)."""
    if result.amount is not None:
        return None
    if result.reason == "no_formula":
        if benefit.amount_note is not None:
            return str(benefit.amount_note[lang])
        return say(lang, "estimate.no_amount", kind=kind_word(benefit.kind, lang))
    if result.reason == "does_not_apply":
        return say(lang, "estimate.does_not_apply")
    if result.reason == "missing_inputs":
        return say(lang, "estimate.missing", missing=labels(result.missing, model, lang))
    if result.reason == "no_parameter" and result.parameter:
        return say(
            lang,
            "estimate.no_parameter",
            year=year,
            label=model.parameters[result.parameter].label[lang],
        )
    return say(lang, "estimate.no_case")


def estimate_sentence(result: EstimateResult, lang: str) -> str:
    """``估算：少缴税额 1,150,000 元`` (with the stacking note when it applies)."""
    assert result.amount is not None
    assert result.kind is not None
    text = say(
        lang,
        "estimate.sentence",
        kind=estimate_kind_word(result.kind, lang),
        amount=format_value(result.amount, "元", lang),
    )
    if result.conditional:
        text += say(lang, "estimate.conditional")
    if result.conflicts_with:
        key = "estimate.conflict_counted" if result.counted else "estimate.conflict_other"
        text += say(lang, key, others=Words(result.conflicts_with))
    return text


def gap_sentence(gap: Gap, model: PolicyModel, lang: str) -> str:
    """A gap, said: ``研发费用年度增长额 150,000 元，需 ≥ 200,000 元：差 50,000 元``."""
    if gap.direction == "flag":
        return (
            trace_sentence(gap.trace, model, lang)
            if gap.operator == "not"
            else leaf_sentence(gap.trace, model, lang)
        )
    unit = model.fact_unit(gap.fact) if gap.fact else None
    return say(
        lang,
        "gap." + gap.direction,
        label=model.fact_label(gap.fact)[lang] if gap.fact else gap.trace.condition.text,
        value=format_value(gap.value, unit, lang),
        op=_OPS[gap.operator],
        threshold=format_value(gap.threshold, unit, lang),
        amount=format_value(gap.gap, unit, lang),
    )
