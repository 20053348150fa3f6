"""Plain-text views for the terminal: the answer table, the catalogue, a town, a validation.

Each function returns text; the CLI prints it. Marks: ✔ applies / 适用, ✘ does not apply /
不适用, ? undetermined / 待定. Colour is added only when asked (a terminal, no NO_COLOR).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._estimates import totals
from ._explain import (
    ESTIMATE_KINDS,
    benefit_summary,
    change_sentence,
    estimate_sentence,
    format_value,
    measure_summary,
    precheck_reasons,
    precheck_verdict,
    status_word,
    town_measure_sentence,
)
from ._model import AUDIENCE_LABELS, PolicyModel, Status
from ._nearmiss import gap_sentence, gaps, to_supply
from ._results import Evaluation, TownEvaluation

if TYPE_CHECKING:
    from ._district import Impact, Progress
    from ._owl import LintReport
    from ._roster import RosterSummary

_MARKS = {Status.APPLIES: "✔", Status.DOES_NOT_APPLY: "✘", Status.UNDETERMINED: "?"}
_COLOURS = {Status.APPLIES: "32", Status.DOES_NOT_APPLY: "31", Status.UNDETERMINED: "33"}
_EXCERPT = 48


class _Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def status(self, status: Status, lang: str) -> str:
        text = f"{_MARKS[status]} {status_word(status, lang)}"
        return f"\033[{_COLOURS[status]}m{text}\033[0m" if self.colour else text

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.colour else text

    def dim(self, text: str) -> str:
        return f"\033[2m{text}\033[0m" if self.colour else text


def _excerpt(text: str) -> str:
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def evaluation_table(ev: Evaluation, lang: str = "zh", colour: bool = False) -> str:
    """The answer for one profile, grouped by measure, one line of reason per benefit."""
    zh = lang != "en"
    style = _Style(colour)
    model = ev.model
    doc = model.document
    lines = [
        style.bold(f"{doc.title(lang)}（{doc.year}）" if zh else f"{doc.title(lang)} ({doc.year})")
    ]
    who = ev.profile.name or ("（未填写企业名称）" if zh else "(no name given)")
    head = f"企业：{who} · 评价年度：{ev.year}" if zh else f"Enterprise: {who} · year {ev.year}"
    if ev.town is not None and model.targets is not None:
        head += (
            f" · 所在镇：{ev.town.name}（{model.targets.annex}目标 {ev.town.target} {model.targets.unit}）"
            if zh
            else f" · town: {ev.town.name_en or ev.town.name} (target {ev.town.target})"
        )
    lines.append(head)
    counts = {s: sum(1 for b in ev.benefits if b.status is s) for s in Status}
    if zh:
        lines.append(
            f"待遇：适用 {counts[Status.APPLIES]} 项 · 待定 {counts[Status.UNDETERMINED]} 项 · 不适用 {counts[Status.DOES_NOT_APPLY]} 项"
        )
    else:
        lines.append(
            f"Benefits: {counts[Status.APPLIES]} apply · {counts[Status.UNDETERMINED]} undetermined · "
            f"{counts[Status.DOES_NOT_APPLY]} do not apply"
        )
    if ev.year != doc.year:
        lines.append(
            f"注：本政策为{doc.year}年政策，{ev.year}年按原文措施评价，参数取{ev.year}年有效值。"
            if zh
            else f"Note: a {doc.year} policy, evaluated as written for {ev.year} with that year's parameters."
        )
    if ev.precheck is not None:
        lines.append("")
        lines += precheck_lines(ev, lang, colour)
    for m in ev.measures:
        measure = m.measure
        lines.append("")
        lines.append(
            f"{style.bold(measure.number + ' ' + measure.title(lang))} [{measure.id}]  {style.status(m.status, lang)}"
        )
        if not m.benefits:
            lines.append("    " + measure_summary(m, model, lang))
            continue
        for b in m.benefits:
            benefit = b.benefit
            lines.append(
                f"  {style.status(b.status, lang)}  {benefit.title(lang)}  {style.dim(benefit.id)}"
            )
            lines.append("      " + benefit_summary(b, model, lang))
            for gap in gaps(b):
                if gap.direction != "flag":  # a yes/no fact's gap is already the reason above
                    lines.append(
                        "      " + ("差距：" if zh else "gap: ") + gap_sentence(gap, model, lang)
                    )
            estimate = ev.estimates[b.id]
            if estimate.amount is not None:
                lines.append("      " + estimate_sentence(estimate, lang))
            if b.id in ev.once_registered:
                lines.append(
                    "      "
                    + (
                        "预检可通过评价：取得当年入库登记编号后即可适用"
                        if zh
                        else "would apply once registered (the pre-check says it qualifies)"
                    )
                )
            cite = (
                f"依据 {measure.number}：“{_excerpt(benefit.quote)}”"
                if zh
                else f"source {measure.number}: “{_excerpt(benefit.quote)}”"
            )
            lines.append("      " + style.dim(cite))
    statuses = {b.id: b.status for b in ev.benefits}
    total = totals(ev.estimates, statuses)
    if total:
        lines.append("")
        parts = [
            f"{ESTIMATE_KINDS[k][0 if zh else 1]} {format_value(v, '元', lang)}"
            for k, v in sorted(total.items())
        ]
        lines.append(
            ("估算合计（适用的待遇）：" if zh else "Estimated value of the benefits that apply: ")
            + " · ".join(parts)
        )
    supply = to_supply(ev)
    if supply:
        lines.append("")
        head = (
            "需补充的信息（先补充影响最多的）："
            if zh
            else "Facts to supply (those that settle most first): "
        )
        shown = [
            f"{model.fact_label(s.fact, lang)}（{len(s.settles)}）"
            if zh
            else f"{model.fact_label(s.fact, lang)} ({len(s.settles)})"
            for s in supply
        ]
        lines.append(head + ("、" if zh else ", ").join(shown))
    lines.append("")
    lines.append(
        style.dim("说明：未填写的事实视为未知，不视为“否”或 0。完整理由与原文见 --format json。")
        if zh
        else style.dim(
            "Facts left out are unknown, never 'no' or zero. Full reasons and citations: --format json."
        )
    )
    return "\n".join(lines)


def precheck_lines(ev: Evaluation, lang: str = "zh", colour: bool = False) -> list[str]:
    """The score card of the tech-SME pre-check."""
    zh = lang != "en"
    pre = ev.precheck
    assert pre is not None
    style = _Style(colour)
    status = {True: Status.APPLIES, False: Status.DOES_NOT_APPLY, None: Status.UNDETERMINED}[
        pre.qualifies
    ]
    mark = {True: "✔", False: "✘", None: "?"}[pre.qualifies]
    verdict = precheck_verdict(pre, ev.model, lang)
    head = f"{pre.method.label(lang)}：" if zh else f"{pre.method.label(lang)}: "
    text = f"{mark} {verdict}"
    lines = [style.bold(head) + (f"\033[{_COLOURS[status]}m{text}\033[0m" if colour else text)]
    for reason in precheck_reasons(pre, ev.model, lang)[:-1]:
        lines.append("  " + reason)
    if pre.smallest_change is not None:
        lines.append(
            "  "
            + ("最小改变：" if zh else "smallest change: ")
            + change_sentence(pre.smallest_change, pre, ev.model, lang)
        )
    return lines


def precheck_table(ev: Evaluation, lang: str = "zh", colour: bool = False) -> str:
    """``policy-kb precheck``: the score card alone."""
    zh = lang != "en"
    who = ev.profile.name or ("（未填写企业名称）" if zh else "(no name given)")
    head = f"企业：{who} · 评价年度：{ev.year}" if zh else f"Enterprise: {who} · year {ev.year}"
    pre = ev.precheck
    assert pre is not None
    lines = [head, *precheck_lines(ev, lang, colour)]
    if pre.method.reference:
        lines.append(("依据：" if zh else "source: ") + pre.method.reference)
    return "\n".join(lines)


def catalogue_table(model: PolicyModel, lang: str = "zh") -> str:
    """The twelve measures, their audience and benefits, and the 附件2 targets."""
    zh = lang != "en"
    lines = [
        f"{model.document.title(lang)}（{model.document.year}）"
        if zh
        else f"{model.document.title(lang)} ({model.document.year})"
    ]
    current = None
    for m in model.measures:
        if m.part != current:
            current = m.part
            heading = next(
                (
                    p.heading if zh else p.title_en
                    for p in model.document.parts
                    if p.number == m.part
                ),
                m.part,
            )
            lines += ["", heading]
        audience = AUDIENCE_LABELS[m.audience][0 if zh else 1]
        lines.append(
            f"  {m.number} [{m.id}] {m.title(lang)}  — {'面向' if zh else 'for'} {audience}"
        )
        for b in m.benefits:
            lines.append(f"      · {b.id}  {b.title(lang)}")
    if model.targets is not None:
        t = model.targets
        lines += [
            "",
            f"{t.annex} {t.title_zh if zh else (t.title_en or t.title_zh)}（{'单位' if zh else 'unit'}：{t.unit}）",
        ]
        for town in t.towns:
            name = town.name if zh else f"{town.name} {town.name_en or ''}".strip()
            lines.append(f"  {town.seq:>2}  {name}  {town.target}")
        lines.append(f"      {'合计' if zh else 'Total'}  {t.total}")
    return "\n".join(lines)


def town_table(te: TownEvaluation, lang: str = "zh", colour: bool = False) -> str:
    """The measures addressed to one town, with its target."""
    zh = lang != "en"
    style = _Style(colour)
    table = te.model.targets
    assert table is not None
    town = te.town
    if zh:
        head = f"{town.name}（{table.annex}第 {town.seq} 行）· {table.year}年科技型中小企业入库评价目标 {town.target} {table.unit}（全区合计 {table.total} {table.unit}）"
    else:
        head = f"{town.name} {town.name_en or ''} (row {town.seq} of {table.annex}) · {table.year} target: {town.target} (district total {table.total})"
    lines = [style.bold(head), ""]
    for r in te.measures:
        reason = town_measure_sentence(r.status, r.measure.audience, r.target, table.unit, lang)
        lines.append(
            f"{style.status(r.status, lang)}  {r.measure.number} {r.measure.title(lang)} [{r.measure.id}]"
        )
        lines.append(f"      {reason}")
    return "\n".join(lines)


def facts_table(model: PolicyModel, lang: str = "zh") -> str:
    """The facts a profile may carry, grouped as in measures.yaml."""
    zh = lang != "en"
    lines = []
    group = None
    for f in model.facts.values():
        if f.group != group:
            group = f.group
            lines += ["", group or ""]
        unit = f" ({f.unit})" if f.unit else ""
        lines.append(f"  {f.id:<34} {f.type.value:<6} {f.label(lang)}{unit}")
    if model.derived:
        lines += ["", "派生事实（不可直接填写）" if zh else "Derived facts (computed, not given)"]
        for d in model.derived.values():
            lines.append(f"  {d.id:<34} = {d.formula_text}   {d.label(lang)}")
    return "\n".join(lines).lstrip("\n")


def lint_table(report: LintReport, model: PolicyModel, lang: str = "zh") -> str:
    """What the reasoner checked and proved, for a policy officer."""
    zh = lang != "en"
    checked = report.checked
    if zh:
        head = (
            f"{model.file}：HermiT 推理机已核查（参数取{report.year}年值）："
            f"{checked.get('benefits', 0)} 项待遇、{checked.get('categories', 0)} 个类别、"
            f"{checked.get('declared_implications', 0)} 条声明的蕴含关系"
        )
    else:
        head = (
            f"{model.file}: checked by the HermiT reasoner ({report.year} parameters): "
            f"{checked.get('benefits', 0)} benefits, {checked.get('categories', 0)} categories, "
            f"{checked.get('declared_implications', 0)} declared implications"
        )
    lines = [head]
    errors = report.errors
    if errors:
        lines.append(
            f"✘ 发现 {len(errors)} 个错误（见下方）"
            if zh
            else f"✘ {len(errors)} error(s), listed below"
        )
    elif report.findings:
        lines.append("✔ 无错误，有提示（见下方）" if zh else "✔ no errors; warnings listed below")
    else:
        lines.append(
            "✔ 无矛盾：每项待遇都有企业可以获得，没有企业会同时符合与不符合，声明的蕴含关系均成立"
            if zh
            else "✔ no contradiction: every benefit can be obtained, none can be both granted and refused, "
            "every declared implication holds"
        )
    if report.implications:
        lines += [
            "",
            "推理机证明：获得各项待遇的企业必然满足"
            if zh
            else "What the reasoner proves each benefit requires:",
        ]
        for imp in report.implications:
            benefit = model.benefits[imp.benefit]
            needs = [model.categories[c].label(lang) for c in imp.categories]
            needs += [model.fact_label(f, lang) for f in imp.facts]
            sep = "、" if zh else "; "
            line = (
                f"  {imp.benefit}（{benefit.title(lang)}，第 {imp.location.line} 行）"
                if zh
                else f"  {imp.benefit} ({benefit.title(lang)}, line {imp.location.line})"
            )
            line += ("：" if zh else ": ") + (sep.join(needs) if needs else "—")
            if imp.benefits:
                line += ("；因此也享受 " if zh else "; hence also ") + sep.join(imp.benefits)
            lines.append(line)
    return "\n".join(lines)


def validation_summary(model: PolicyModel) -> str:
    """One line saying what a valid measures file holds."""
    key = sum(1 for m in model.measures if m.kind.value == "key")
    safeguard = len(model.measures) - key
    towns = ""
    if model.targets is not None:
        towns = f", {len(model.targets.towns)} towns (合计 {format_value(model.targets.total, None, 'en')})"
    return (
        f"{model.file}: OK — {len(model.measures)} measures ({key} key, {safeguard} safeguard), "
        f"{len(model.benefits)} benefits, {len(model.categories)} categories, "
        f"{len(model.parameters)} parameters, {len(model.facts)} facts{towns}"
    )


def roster_table(
    summary: RosterSummary, model: PolicyModel, source: str, output: str | None, lang: str = "zh"
) -> str:
    """The summary of a roster run."""
    zh = lang != "en"
    valid = summary.rows - summary.invalid
    lines = [
        (
            f"{source}：{summary.rows:,} 家企业，{valid:,} 家已评价，{summary.invalid:,} 家数据有误（见上方）"
            if zh
            else f"{source}: {summary.rows:,} enterprises, {valid:,} evaluated, {summary.invalid:,} rows refused (listed above)"
        ),
    ]
    if output:
        lines.append(("结果已写入 " if zh else "answers written to ") + output)
    lines.append("")
    head = (
        ("待遇", "适用", "不适用", "待定")
        if zh
        else ("benefit", "applies", "does not", "undetermined")
    )
    width = max(len(b) for b in summary.statuses) if summary.statuses else 10
    lines.append(f"  {head[0]:<{width}}  {head[1]:>9}  {head[2]:>9}  {head[3]:>12}")
    for benefit, (a, d, u) in summary.statuses.items():
        lines.append(f"  {benefit:<{width}}  {a:>9,}  {d:>9,}  {u:>12,}")
    q, n, u = summary.precheck
    lines.append("")
    lines.append(
        f"科技型中小企业评价预检：可通过 {q:,} · 不能通过 {n:,} · 待定 {u:,}"
        if zh
        else f"Tech-SME pre-check: qualifies {q:,} · does not {n:,} · undetermined {u:,}"
    )
    if summary.totals:
        parts = [
            f"{ESTIMATE_KINDS[k][0 if zh else 1]} {format_value(v, '元', lang)}"
            for k, v in sorted(summary.totals.items())
        ]
        lines.append(
            ("估算合计（适用的待遇）：" if zh else "Estimated value of the benefits that apply: ")
            + " · ".join(parts)
        )
    return "\n".join(lines)


def progress_table(report: Progress, lang: str = "zh") -> str:
    """Per town of 附件2: target, registered, completion, shortfall, the pool and what it closes."""
    zh = lang != "en"
    if zh:
        head = [
            "序号",
            "镇（开发区）",
            "目标",
            "已入库",
            "完成率",
            "缺口",
            "应评尽评",
            "可补足",
            "补足后",
        ]
    else:
        head = [
            "#",
            "town",
            "target",
            "registered",
            "rate",
            "shortfall",
            "pool",
            "closes",
            "with pool",
        ]
    rows = []
    for t in report.towns:
        name = t.name if zh else f"{t.name} {t.name_en or ''}".strip()
        rows.append(
            [
                str(t.seq),
                name,
                str(t.target),
                str(t.registered),
                f"{t.rate:.0%}",
                str(t.shortfall),
                str(t.pool),
                str(t.pool_closes),
                f"{t.rate_with_pool:.0%}",
            ]
        )
    total_rate = report.registered / report.target if report.target else 0.0
    with_pool = (report.registered + report.pool_closes) / report.target if report.target else 0.0
    rows.append(
        [
            "",
            "全区合计" if zh else "district",
            str(report.target),
            str(report.registered),
            f"{total_rate:.0%}",
            str(report.shortfall),
            str(report.pool),
            str(report.pool_closes),
            f"{with_pool:.0%}",
        ]
    )
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [_row(head, widths)]
    for r in rows:
        lines.append(_row(r, widths))
    lines.insert(len(lines) - 1, "  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    note = []
    if report.target != report.printed_total:
        note.append(
            f"注意：各镇目标之和 {report.target} 与附件2印刷合计 {report.printed_total} 不一致"
            if zh
            else f"note: the targets add up to {report.target}, the printed total is {report.printed_total}"
        )
    note.append(
        f"共 {report.rows:,} 家企业；{report.invalid:,} 家数据有误未计入；{report.outside:,} 家所在镇未知或不在附件2"
        if zh
        else f"{report.rows:,} enterprises; {report.invalid:,} refused rows not counted; {report.outside:,} with an unknown town or one outside Annex 2"
    )
    note.append(
        "已入库 = 已取得当年入库登记编号；应评尽评 = 预检可通过但尚未入库（含入库情况未知）；可补足 = 应评尽评中可计入缺口的部分"
        if zh
        else "registered = holds this year's registration number; pool = would pass the pre-check but is not registered (or not known to be); closes = the part of the pool that fills the shortfall"
    )
    return "\n".join([*lines, "", *note])


def _width(text: str) -> int:
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def _row(cells: list[str], widths: list[int]) -> str:
    out = []
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        pad = " " * (width - _width(cell))
        out.append(cell + pad if i == 1 else pad + cell)
    return "  " + "  ".join(out)


def impact_table(report: Impact, lang: str = "zh") -> str:
    """Per benefit: gains, losses, moves to and from undetermined, and the change in amounts."""
    zh = lang != "en"
    head = (
        ["待遇", "新增适用", "不再适用", "变为待定", "由待定确定", "估算金额变化（元）"]
        if zh
        else [
            "benefit",
            "gain",
            "lose",
            "to undetermined",
            "from undetermined",
            "change in estimated amounts",
        ]
    )
    rows = [
        [
            b.benefit,
            str(b.gains),
            str(b.losses),
            str(b.to_undetermined),
            str(b.from_undetermined),
            f"{b.change:+,.2f}",
        ]
        for b in report.benefits.values()
    ]
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        f"{report.rows:,} 家企业（{report.invalid:,} 家数据有误未计入）"
        if zh
        else f"{report.rows:,} enterprises ({report.invalid:,} refused rows not counted)",
        "",
        "  " + "  ".join(_pad(c, w, i) for i, (c, w) in enumerate(zip(head, widths, strict=True))),
    ]
    for r in rows:
        lines.append(
            "  " + "  ".join(_pad(c, w, i) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    if report.details:
        lines += ["", "变化明细：" if zh else "Rows that change:"]
        for d in report.details:
            lines.append(
                f"  row {d['row']}  {d['name'] or ''}  {d['town'] or ''}  {d['benefit']}: {d['old']} → {d['new']}"
            )
    return "\n".join(lines)


def _pad(cell: str, width: int, index: int) -> str:
    pad = " " * (width - _width(cell))
    return cell + pad if index == 0 else pad + cell
