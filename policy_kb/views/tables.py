"""Plain-text views for the terminal: the answer, the catalogue, a town, rosters, lint.

Each function returns text; the CLI prints it. Marks: ✔ applies / 适用, ✘ does not apply /
不适用, ? undetermined / 待定. Colour is added only when asked (a terminal, no NO_COLOR). Every
word comes from the message catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..policy.model import STATUS_OF, Measure, PolicyModel, Status
from ..reason import evidence as proof
from ..reason.nearmiss import gaps, to_supply
from ..reason.results import BenefitResult, Evaluation, TownEvaluation
from ..text import Msg, Text, Words, format_value, number, percent, printable, say
from . import words

if TYPE_CHECKING:  # the reports these views print (the district layer builds them)
    from ..backends.owl import LintReport
    from ..district.readiness import Readiness
    from ..district.reports import BenefitImpact, Impact, Progress

_MARKS = {Status.APPLIES: "✔", Status.DOES_NOT_APPLY: "✘", Status.UNDETERMINED: "?"}
_COLOURS = {Status.APPLIES: "32", Status.DOES_NOT_APPLY: "31", Status.UNDETERMINED: "33"}
_TRI = STATUS_OF
_EXCERPT = 48


class _Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def status(self, status: Status, lang: str) -> str:
        return self.paint(_COLOURS[status], f"{_MARKS[status]} {words.status_word(status, lang)}")

    def bold(self, text: str) -> str:
        return self.paint("1", text)

    def dim(self, text: str) -> str:
        return self.paint("2", text)


def _excerpt(text: str) -> str:
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _who(ev: Evaluation, lang: str) -> str:
    who = printable(ev.profile.name) if ev.profile.name else say(lang, "table.no_name")
    return say(lang, "table.enterprise", who=who, year=ev.year)


def _totals_line(totals: Mapping[str, Any], unknown: Mapping[str, int], lang: str) -> str:
    """The totals by kind; a kind with amounts not known yet says how many (its sum of the
    known ones is then the least, and a kind with none known is not shown as 0)."""
    parts = []
    for kind in sorted({*totals, *unknown}):
        open_ = unknown.get(kind, 0)
        if kind not in totals:
            shown = say(lang, "table.total_unknown", n=open_)
        elif open_:
            shown = say(
                lang, "table.total_at_least", amount=format_value(totals[kind], "元", lang), n=open_
            )
        else:
            shown = format_value(totals[kind], "元", lang)
        parts.append(f"{words.estimate_kind_word(kind, lang)} {shown}")
    return say(lang, "table.totals") + " · ".join(parts)


def evaluation_table(ev: Evaluation, lang: str = "zh", colour: bool = False) -> str:
    """The answer for one profile, grouped by measure, one line of reason per benefit."""
    style = _Style(colour)
    model = ev.model
    doc = model.document
    lines = [style.bold(say(lang, "table.title", title=doc.title[lang], year=doc.year))]
    head = _who(ev, lang)
    if ev.town is not None and model.targets is not None:
        t = model.targets
        head += say(
            lang,
            "table.town",
            town=ev.town.label[lang],
            annex=t.annex,
            target=ev.town.target,
            unit=t.unit,
        )
    lines.append(head)
    counts = {s: sum(1 for b in ev.benefits if b.status is s) for s in Status}
    lines.append(
        say(
            lang,
            "table.counts",
            applies=counts[Status.APPLIES],
            undetermined=counts[Status.UNDETERMINED],
            refused=counts[Status.DOES_NOT_APPLY],
        )
    )
    lines += [note.render(lang) for note in ev.notes()]
    if ev.precheck is not None:
        lines += ["", *precheck_lines(ev, lang, colour)]
    for m in ev.measures:
        measure = m.measure
        lines += [
            "",
            f"{style.bold(measure.number + ' ' + measure.title[lang])} [{measure.id}]  {style.status(m.status, lang)}",
        ]
        if not m.benefits:
            lines.append("    " + words.measure_summary(m, model, lang))
            continue
        for b in m.benefits:
            lines += _benefit_lines(ev, b, measure, lang, style)
    total, unknown = ev.totals(), ev.unknown_amounts()
    if total or unknown:
        lines += ["", _totals_line(total, unknown, lang)]
    supply = to_supply(ev)
    if supply:
        shown = [
            say(lang, "table.supply_item", label=model.fact_label(s.fact)[lang], n=len(s.settles))
            for s in supply
        ]
        lines += ["", say(lang, "table.supply") + Words(shown).render(lang)]
    lines += ["", style.dim(say(lang, "table.footer"))]
    return "\n".join(lines)


def _benefit_lines(
    ev: Evaluation, b: BenefitResult, measure: Measure, lang: str, style: _Style
) -> list[str]:
    benefit, model = b.benefit, ev.model
    lines = [
        f"  {style.status(b.status, lang)}  {benefit.title[lang]}  {style.dim(benefit.id)}",
        "      " + words.benefit_summary(b, model, lang),
    ]
    for gap in gaps(b):
        if gap.direction != "flag":  # a yes/no fact's gap is already the reason above
            lines.append("      " + say(lang, "table.gap") + words.gap_sentence(gap, model, lang))
    estimate = ev.estimates[b.id]
    if estimate.amount is not None:
        lines.append("      " + words.estimate_sentence(estimate, lang))
    elif b.status is Status.APPLIES and estimate.reason not in ("no_formula", "does_not_apply"):
        # it applies and has a formula, but no amount: said here, as the JSON's estimate_note
        why = words.estimate_reason(estimate, benefit, model, ev.year, lang)
        lines.append("      " + say(lang, "table.estimate_unknown", reason=why))
    if b.id in ev.once_registered:
        lines.append("      " + say(lang, "once_registered.reason"))
    found = proof.application(model, b.status, b.trace)
    if found.mode == proof.NO_APPLICATION:
        lines.append("      " + say(lang, "application.no_application"))
    elif found.documents:
        documents = Words([k.label for k in found.documents], "semi")
        lines.append("      " + say(lang, "table.documents", documents=documents))
    if found.requests:
        each = [
            Msg(
                "table.fact_held_by",
                fact=model.facts[f].label,
                holders=Words(
                    [model.holders[k.holder].label for k in proof.evidence_of(model, (f,))],
                    "list",
                ),
            )
            for f in found.requests
        ]
        lines.append("      " + say(lang, "table.data_requests", facts=Words(each, "semi")))
    lines.append(
        "      "
        + style.dim(say(lang, "table.cite", number=measure.number, quote=_excerpt(benefit.quote)))
    )
    return lines


def precheck_lines(ev: Evaluation, lang: str = "zh", colour: bool = False) -> list[str]:
    """The score card of the tech-SME pre-check."""
    pre = ev.precheck
    assert pre is not None
    style = _Style(colour)
    status = _TRI[pre.qualifies]
    text = f"{_MARKS[status]} {words.precheck_verdict(pre, ev.model, lang)}"
    lines = [
        style.bold(say(lang, "table.colon", head=pre.method.label[lang]))
        + style.paint(_COLOURS[status], text)
    ]
    lines += ["  " + reason for reason in words.precheck_reasons(pre, ev.model, lang)[:-1]]
    if pre.smallest_change is not None:
        lines.append(
            "  "
            + say(lang, "table.smallest_change")
            + words.change_sentence(pre.smallest_change, pre.method, ev.model, lang)
        )
    return lines


def precheck_table(ev: Evaluation, lang: str = "zh", colour: bool = False) -> str:
    """``policy-kb precheck``: the score card alone."""
    pre = ev.precheck
    assert pre is not None
    lines = [_who(ev, lang), *precheck_lines(ev, lang, colour)]
    if pre.method.reference:
        lines.append(say(lang, "table.source") + pre.method.reference[lang])
    return "\n".join(lines)


def catalogue_table(model: PolicyModel, lang: str = "zh") -> str:
    """The twelve measures, their audience and benefits, and the 附件2 targets."""
    doc = model.document
    lines = [say(lang, "table.title", title=doc.title[lang], year=doc.year)]
    current = None
    for m in model.measures:
        if m.part != current:
            current = m.part
            part = next((p for p in doc.parts if p.number == m.part), None)
            lines += ["", m.part if part is None else Text(part.heading, part.title.en)[lang]]
        lines.append(
            say(
                lang,
                "catalogue.measure",
                number=m.number,
                id=m.id,
                title=m.title[lang],
                audience=words.audience_word(m.audience, lang),
            )
        )
        lines += [f"      · {b.id}  {b.title[lang]}" for b in m.benefits]
    if model.targets is not None:
        t = model.targets
        lines += [
            "",
            say(lang, "catalogue.targets", annex=t.annex, title=t.title[lang], unit=t.unit),
        ]
        for town in t.towns:
            name = _town_names(town.name, town.name_en)[lang]
            lines.append(f"  {town.seq:>2}  {name}  {town.target}")
        lines.append(say(lang, "catalogue.total", total=t.total))
    return "\n".join(lines)


def town_table(te: TownEvaluation, lang: str = "zh", colour: bool = False) -> str:
    """The measures addressed to one town, with its target."""
    style = _Style(colour)
    table = te.model.targets
    assert table is not None
    town = te.town
    head = say(
        lang,
        "town.head",
        name=town.name,
        name_en=town.name_en or "",
        annex=table.annex,
        seq=town.seq,
        year=table.year,
        target=town.target,
        unit=table.unit,
        total=table.total,
    )
    lines = [style.bold(head), ""]
    for r in te.measures:
        lines.append(
            f"{style.status(r.status, lang)}  {r.measure.number} {r.measure.title[lang]} [{r.measure.id}]"
        )
        lines.append(
            "      "
            + words.town_measure_sentence(r.status, r.measure.audience, r.target, table.unit, lang)
        )
    return "\n".join(lines)


def facts_table(model: PolicyModel, lang: str = "zh") -> str:
    """The facts a profile may carry, grouped as in measures.yaml."""
    lines: list[str] = []
    group = None
    for f in model.facts.values():
        if f.group != group:
            group = f.group
            named = next((g for g in model.fact_groups if g.name == group), None)
            lines += ["", named.label[lang] if named is not None else group or ""]
        unit = f" ({say(lang, 'unit.' + f.unit)})" if f.unit else ""
        lines.append(f"  {f.id:<34} {f.type.value:<6} {f.label[lang]}{unit}")
    if model.derived:
        lines += ["", say(lang, "facts.derived")]
        lines += [
            f"  {d.id:<34} = {d.formula_text}   {d.label[lang]}" for d in model.derived.values()
        ]
    return "\n".join(lines).lstrip("\n")


def validation_summary(model: PolicyModel, lang: str = "zh") -> str:
    """One line saying what a valid measures file holds."""
    key = sum(1 for m in model.measures if m.kind.value == "key")
    towns = ""
    if model.targets is not None:
        towns = say(
            lang,
            "validate.towns",
            towns=len(model.targets.towns),
            total=number(model.targets.total),
        )
    return say(
        lang,
        "validate.ok",
        file=model.file,
        measures=len(model.measures),
        key=key,
        safeguard=len(model.measures) - key,
        benefits=len(model.benefits),
        categories=len(model.categories),
        parameters=len(model.parameters),
        facts=len(model.facts),
        towns=towns,
    )


def display_width(text: str) -> int:
    """Columns a text takes on a terminal (CJK characters take two)."""
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def grid(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    left: Sequence[int] = (0,),
    rule_before_last: bool = False,
) -> list[str]:
    """Aligned columns: text columns (``left``) padded right, numbers padded left."""
    widths = [max(display_width(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (width - display_width(cell))
            out.append(cell + pad if i in left else pad + cell)
        return "  " + "  ".join(out)

    lines = [line(head), *(line(r) for r in rows)]
    if rule_before_last:
        lines.insert(len(lines) - 1, "  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    return lines


# ── rosters and district reports ─────────────────────────────────────────────────────────────


def roster_table(summary: Any, source: str, output: str | None, lang: str = "zh") -> str:
    """The summary of a roster run."""
    valid = summary.rows - summary.invalid
    lines = [
        say(
            lang,
            "roster.summary" if summary.invalid else "roster.summary.clean",
            source=source,
            rows=f"{summary.rows:,}",
            valid=f"{valid:,}",
            invalid=f"{summary.invalid:,}",
        )
    ]
    if output:
        lines.append(say(lang, "roster.written", output=output))
    if summary.overridden:
        lines.append(
            say(lang, "roster.other_year", rows=f"{summary.overridden:,}", year=summary.year)
        )
    head = [
        say(lang, "roster.head." + k) for k in ("benefit", "applies", "refused", "undetermined")
    ]
    rows = [
        [benefit, f"{a:,}", f"{d:,}", f"{u:,}"] for benefit, (a, d, u) in summary.statuses.items()
    ]
    lines += ["", *grid(head, rows)]
    q, no, u = summary.precheck
    lines += [
        "",
        say(lang, "roster.precheck", qualifies=f"{q:,}", refused=f"{no:,}", undetermined=f"{u:,}"),
    ]
    if summary.totals or summary.unknown:
        lines.append(_totals_line(summary.totals, summary.unknown, lang))
    return "\n".join(lines)


def progress_table(report: Progress, lang: str = "zh") -> str:
    """Per town of 附件2: target, registered, completion, shortfall, the pool and what it closes."""
    head = [
        say(lang, "progress.head." + k)
        for k in (
            "seq",
            "town",
            "target",
            "registered",
            "rate",
            "shortfall",
            "pool",
            "closes",
            "with_pool",
        )
    ]
    rows = [
        [
            str(t.seq),
            _town_names(t.name, t.name_en)[lang],
            str(t.target),
            str(t.registered),
            percent(t.rate),
            str(t.shortfall),
            str(t.pool),
            str(t.pool_closes),
            percent(t.rate_with_pool),
        ]
        for t in report.towns
    ]
    rows.append(
        [
            "",
            say(lang, "progress.district"),
            str(report.target),
            str(report.registered),
            percent(report.rate),
            str(report.shortfall),
            str(report.pool),
            str(report.pool_closes),
            percent(report.rate_with_pool),
        ]
    )
    notes = []
    if report.target != report.printed_total:
        notes.append(
            say(lang, "progress.total_differs", target=report.target, printed=report.printed_total)
        )
    notes.append(
        say(
            lang,
            "progress.rows",
            rows=f"{report.rows:,}",
            invalid=f"{report.invalid:,}",
            outside=f"{report.outside:,}",
        )
    )
    notes.append(say(lang, "progress.legend"))
    return "\n".join([*grid(head, rows, left=(1,), rule_before_last=True), "", *notes])


_READINESS_COLUMNS = (
    "enterprises",
    "no_application",
    "documents_needed",
    "undetermined",
    "waiting_for_data",
    "not_applicable",
)
_READINESS_HEAD = (
    "enterprises",
    "no_application",
    "documents_needed",
    "undetermined",
    "waiting",
    "not_applicable",
)


def _town_label(town: str | None, model: PolicyModel, lang: str) -> str:
    if town is None:
        return say(lang, "readiness.no_town")
    found = model.targets.town(town) if model.targets else None
    return _town_names(town, found.name_en if found is not None else None)[lang]


def _town_names(name: str, name_en: str | None) -> Text:
    """A town as the tables name it: its Chinese name; in English both (湖塘镇 Hutang Town), as
    a person who reads English needs the name the documents use as well."""
    return Text(name, f"{name} {name_en}" if name_en else name)


def _holders(model: PolicyModel, kinds: Sequence[Any], lang: str) -> str:
    names = {k.holder: None for k in kinds}
    return Words([model.holders[h].label for h in names if h in model.holders], "list").render(lang)


def readiness_table(report: Readiness, model: PolicyModel, lang: str = "zh") -> str:
    """免申即享 readiness: per town and benefit the counts, then the documents to provide and the
    data to request (over the report's towns), the legend and the advice."""
    from ..district.readiness import ANY_BENEFIT

    town_note = say(lang, "readiness.town_only", town=report.town) if report.town else ""
    counted = report.district(ANY_BENEFIT).enterprises if report.town else report.rows
    lines = [
        say(
            lang,
            "readiness.title",
            rows=f"{counted:,}",
            invalid=f"{report.invalid:,}",
            town=town_note,
        ),
        "",
    ]
    head = [say(lang, "readiness.head.town"), say(lang, "readiness.head.benefit")]
    head += [say(lang, "readiness.head." + k) for k in _READINESS_HEAD]
    rows: list[list[str]] = []
    places: list[tuple[str, Any]] = [(_town_label(t, model, lang), t) for t in report.towns]
    for label, town in places:
        for i, benefit in enumerate(report.benefits):
            counts = report.of(benefit, town)
            rows.append(
                [label if i == 0 else "", benefit]
                + [f"{getattr(counts, k):,}" for k in _READINESS_COLUMNS]
            )
    if len(places) > 1:
        for i, benefit in enumerate(report.benefits):
            counts = report.district(benefit)
            rows.append(
                [say(lang, "readiness.district") if i == 0 else "", benefit]
                + [f"{getattr(counts, k):,}" for k in _READINESS_COLUMNS]
            )
    lines += grid(head, rows, left=(0, 1))
    every = report.district(ANY_BENEFIT)
    kinds = {k.id: k for k in model.evidence}
    lines += ["", say(lang, "readiness.documents")]
    if every.documents:
        doc_rows = [
            [kinds[key].label[lang], _holders(model, [kinds[key]], lang), f"{count:,}"]
            for key, count in sorted(every.documents.items(), key=lambda kv: -kv[1])
        ]
        head = [say(lang, "readiness.head." + k) for k in ("document", "holder", "enterprises")]
        lines += grid(head, doc_rows, left=(0, 1))
    else:
        lines.append("  " + say(lang, "readiness.none"))
    lines += ["", say(lang, "readiness.requests")]
    if every.requests:
        request_rows = [
            [
                model.facts[fact].label[lang],
                _holders(model, proof.evidence_of(model, (fact,)), lang),
                f"{count:,}",
            ]
            for fact, count in sorted(every.requests.items(), key=lambda kv: -kv[1])
        ]
        head = [say(lang, "readiness.head." + k) for k in ("fact", "holder", "enterprises")]
        lines += grid(head, request_rows, left=(0, 1))
    else:
        lines.append("  " + say(lang, "readiness.none"))
    lines += ["", say(lang, "readiness.legend"), say(lang, "readiness.advice")]
    return "\n".join(lines)


def readiness_rows(report: Readiness, model: PolicyModel, lang: str = "zh") -> list[list[Any]]:
    """Every count of the report as spreadsheet rows (a header first): town, benefit (``*`` for
    any benefit), kind, id, label, holder, enterprises; the district totals last."""
    from ..district.readiness import ANY_BENEFIT

    head = [
        say(lang, "readiness.head." + k)
        for k in ("town", "benefit", "kind", "item", "label", "holder", "enterprises")
    ]
    out: list[list[Any]] = [head]
    kinds = {k.id: k for k in model.evidence}
    places: list[tuple[str, Callable[[str, str | None], Any], str | None]] = [
        (t if t is not None else say(lang, "readiness.no_town"), report.of, t) for t in report.towns
    ]
    if report.town is None:  # one town asked for: its rows are all there is, no district total
        places.append((say(lang, "readiness.district"), lambda b, _: report.district(b), None))
    for name, counts_of, town in places:
        for benefit in (*report.benefits, ANY_BENEFIT):
            counts = counts_of(benefit, town)
            keys = (
                _READINESS_COLUMNS
                if benefit != ANY_BENEFIT
                else (*_READINESS_COLUMNS[:3], "waiting_for_data")
            )
            for key, word in zip(_READINESS_COLUMNS, _READINESS_HEAD, strict=True):
                if key in keys:
                    label = say(lang, "readiness.head." + word)
                    out.append([name, benefit, key, "", label, "", getattr(counts, key)])
            for key, count in sorted(counts.documents.items()):
                kind = kinds[key]
                holder = _holders(model, [kind], lang)
                out.append([name, benefit, "document", key, kind.label[lang], holder, count])
            for fact, count in sorted(counts.requests.items()):
                holder = _holders(model, proof.evidence_of(model, (fact,)), lang)
                label = model.facts[fact].label[lang]
                out.append([name, benefit, "data_request", fact, label, holder, count])
    return out


def _impact_change(b: BenefitImpact, lang: str) -> str:
    """The change of a benefit's estimated total (— when a version has no total for it: no
    amount, or none known), with how many enterprises' amounts a missing fact leaves open."""
    shown = "—" if b.change is None else f"{b.change:+,.2f}"
    if not (b.old_unknown or b.new_unknown):
        return shown
    if b.old_unknown == b.new_unknown:
        return say(lang, "impact.change_open", change=shown, n=b.old_unknown)
    return say(lang, "impact.change_open_two", change=shown, old=b.old_unknown, new=b.new_unknown)


def impact_table(report: Impact, lang: str = "zh") -> str:
    """Per benefit: gains, losses, moves to and from undetermined, and the change in amounts."""
    head = [
        say(lang, "impact.head." + k) for k in ("benefit", "gain", "lose", "to", "from", "change")
    ]
    rows = [
        [
            b.benefit,
            str(b.gains),
            str(b.losses),
            str(b.to_undetermined),
            str(b.from_undetermined),
            _impact_change(b, lang),
        ]
        for b in report.benefits.values()
    ]
    lines = [
        say(lang, "impact.rows", rows=f"{report.rows:,}", invalid=f"{report.invalid:,}"),
        "",
        *grid(head, rows),
    ]
    if report.details:
        lines += ["", say(lang, "impact.details")]
        lines += [
            "  "
            + say(
                lang,
                "impact.detail",
                row=d["row"],
                name=printable(d["name"] or ""),
                town=d["town"] or "",
                benefit=d["benefit"],
                old=words.status_word(Status(d["old"]), lang),
                new=words.status_word(Status(d["new"]), lang),
            )
            for d in report.details
        ]
    return "\n".join(lines)


def mobilise_rows(entries: Sequence[Any], model: PolicyModel, lang: str) -> list[list[Any]]:
    """The list to call, as spreadsheet rows (a header first)."""
    rows: list[list[Any]] = [
        [
            say(lang, "mobilise.head." + k)
            for k in (
                "town",
                "list",
                "row",
                "name",
                "route",
                "score",
                "registered",
                "supply",
                "change",
            )
        ]
    ]
    for e in entries:
        rows.append(
            [
                e.town,
                say(lang, "mobilise.group." + e.group),
                e.row,
                e.name or "",
                say(lang, "mobilise.route." + e.route) if e.route else "",
                "" if e.score is None else e.score,
                say(lang, "mobilise.registered." + e.registered),
                Words(e.missing).render(lang),
                e.change or "",
            ]
        )
    return rows


def mobilise_summary(entries: Sequence[Any], path: str, near: bool, lang: str) -> str:
    counts: dict[str, list[int]] = {}
    for e in entries:
        counts.setdefault(e.town, [0, 0])[e.group != "pool"] += 1
    pool = sum(c[0] for c in counts.values())
    near_count = sum(c[1] for c in counts.values())
    extra = say(lang, "mobilise.near", n=near_count) if near else ""
    lines = [say(lang, "mobilise.written", pool=pool, extra=extra, path=path)]
    lines += [f"  {town}  {n}" + (f"  (+{m})" if near else "") for town, (n, m) in counts.items()]
    return "\n".join(lines)


def lint_table(report: LintReport, model: PolicyModel, lang: str = "zh") -> str:
    """What the reasoner checked and proved, for a policy officer."""
    checked = report.checked
    lines = [
        say(
            lang,
            "lint.head",
            file=model.file,
            year=report.year,
            benefits=checked.get("benefits", 0),
            categories=checked.get("categories", 0),
            implications=checked.get("declared_implications", 0),
        )
    ]
    if report.errors:
        lines.append(say(lang, "lint.errors", n=len(report.errors)))
    elif report.findings:
        lines.append(say(lang, "lint.warnings"))
    else:
        lines.append(say(lang, "lint.clean"))
    if report.implications:
        lines += ["", say(lang, "lint.proves")]
        for imp in report.implications:
            benefit = model.benefits[imp.benefit]
            needs = [model.categories[c].label[lang] for c in imp.categories] + [
                model.fact_label(f)[lang] for f in imp.facts
            ]
            line = say(
                lang,
                "lint.requires",
                id=imp.benefit,
                title=benefit.title[lang],
                line=imp.location.line,
                needs=Words(needs, "lint") if needs else "—",
            )
            if imp.benefits:
                line += say(lang, "lint.hence", others=Words(imp.benefits, "lint"))
            lines.append(line)
    return "\n".join(lines)
