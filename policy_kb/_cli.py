"""The ``policy-kb`` command (also ``python -m policy_kb``).

Exit codes: 0 answered; 2 bad input (a profile, a measures file, a year, a name, a usage error);
1 anything unexpected. Errors are printed as their message only, never as a traceback
(set ``POLICY_KB_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from ._errors import Location, MeasuresFileError, PolicyKBError, Problem
from ._kb import KnowledgeBase, load
from ._profile import read_profile
from ._render import (
    catalogue_table,
    evaluation_table,
    facts_table,
    impact_table,
    lint_table,
    precheck_table,
    progress_table,
    roster_table,
    town_table,
    validation_summary,
)
from ._serialize import dumps, lint_to_dict

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line error (argparse's default, kept explicit)."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    measures = _Parser(add_help=False)
    measures.add_argument(
        "--measures",
        metavar="FILE",
        help="use this measures.yaml instead of the shipped one (try an edited copy without reinstalling)",
    )
    lang = _Parser(add_help=False)
    lang.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="language of the answer (default zh)"
    )
    fmt = _Parser(add_help=False)
    fmt.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table for people, json for programs",
    )

    parser = _Parser(
        prog="policy-kb",
        description="武进区科技型中小企业政策知识库 — which measures apply to an enterprise, why, and where the text says so.",
    )
    parser.add_argument("--version", action="version", version=f"policy-kb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "match",
        parents=[measures, lang, fmt],
        help="evaluate an enterprise profile (YAML or JSON; - for stdin)",
    )
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument(
        "--year", type=int, help="evaluation year (default: the profile's year, else 2021)"
    )
    p.add_argument(
        "--engine",
        choices=("fast", "owl"),
        default="fast",
        help="fast (default) or owl: decide with the HermiT reasoner (slower, needs Java)",
    )
    p.set_defaults(run=_cmd_match)

    p = sub.add_parser(
        "precheck",
        parents=[measures, lang, fmt],
        help="the tech-SME evaluation score card of a profile",
    )
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument(
        "--year", type=int, help="evaluation year (default: the profile's year, else 2021)"
    )
    p.set_defaults(run=_cmd_precheck)
    p = sub.add_parser(
        "measures",
        parents=[measures, lang, fmt],
        help="list the measures, benefits and 附件2 targets",
    )
    p.set_defaults(run=_cmd_measures)

    p = sub.add_parser(
        "town",
        parents=[measures, lang, fmt],
        help="the measures addressed to a town of 附件2, with its target",
    )
    p.add_argument("name", metavar="NAME", help="a town or zone of 附件2, e.g. 湖塘镇")
    p.set_defaults(run=_cmd_town)

    p = sub.add_parser(
        "facts",
        parents=[measures, lang, fmt],
        help="list the facts an enterprise profile may carry",
    )
    p.set_defaults(run=_cmd_facts)

    p = sub.add_parser(
        "roster",
        parents=[measures, lang, fmt],
        help="evaluate a roster of enterprises (CSV, .xlsx, Parquet)",
    )
    p.add_argument(
        "file", metavar="FILE", help="one enterprise per row; columns are fact ids or their labels"
    )
    p.add_argument(
        "-o", "--output", metavar="OUT", help="write the answers to OUT (.csv, .parquet or .jsonl)"
    )
    p.add_argument("--year", type=int, help="evaluation year (default 2021)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--ignore-unknown-columns", action="store_true", help="skip columns that are not facts"
    )
    p.set_defaults(run=_cmd_roster)

    p = sub.add_parser(
        "progress",
        parents=[measures, lang, fmt],
        help="progress per town against the 附件2 targets",
    )
    p.add_argument("roster", metavar="ROSTER")
    p.add_argument("--chart", metavar="FILE", help="also draw a bar chart (.png or .svg)")
    p.add_argument("--year", type=int)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_progress)

    p = sub.add_parser(
        "mobilise",
        parents=[measures, lang],
        help="list the enterprises that would pass the evaluation but are not registered",
    )
    p.add_argument("roster", metavar="ROSTER")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the list to write (.csv)")
    p.add_argument("--town", metavar="NAME", help="only this town or zone of 附件2")
    p.add_argument(
        "--near-misses",
        action="store_true",
        help="also list the enterprises one change away from passing, with that change",
    )
    p.add_argument("--year", type=int)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_mobilise)

    p = sub.add_parser(
        "impact", parents=[lang, fmt], help="what a change to measures.yaml would do to a roster"
    )
    p.add_argument("roster", metavar="ROSTER")
    p.add_argument("--old", metavar="OLD.yaml", required=True, help="the measures file as it is")
    p.add_argument("--new", metavar="NEW.yaml", required=True, help="the measures file as proposed")
    p.add_argument("--details", action="store_true", help="list every row whose answer changes")
    p.add_argument("--year", type=int)
    p.set_defaults(run=_cmd_impact)
    p = sub.add_parser(
        "serve", parents=[measures], help="start the HTTP service (JSON API, SPARQL, linked data)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument(
        "--workers", type=int, default=1, help="server processes (default 1; 2 uses both cores)"
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow this origin by CORS (repeatable; default: CORS off)",
    )
    p.set_defaults(run=_cmd_serve)

    p = sub.add_parser(
        "lint", parents=[lang, fmt], help="check the policy with the OWL reasoner (needs Java)"
    )
    p.add_argument(
        "file", metavar="FILE", nargs="?", help="the measures file (default: the shipped one)"
    )
    p.add_argument(
        "--year", type=int, help="the year whose parameter values are used (default 2021)"
    )
    p.set_defaults(run=_cmd_lint)

    p = sub.add_parser(
        "validate", help="check a measures.yaml and report every problem with file:line:column"
    )
    p.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="the file to check (default: the shipped measures.yaml)",
    )
    p.set_defaults(run=_cmd_validate)

    p = sub.add_parser(
        "export", parents=[measures], help="write the knowledge graph as Turtle or JSON-LD"
    )
    p.add_argument(
        "--format",
        choices=("turtle", "json-ld", "nt", "xml", "owl"),
        default="turtle",
        help="owl: the eligibility classes compiled for the reasoner, as N-Triples",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )
    p.add_argument("--with-ontology", action="store_true", help="include the hand-written TBox")
    p.set_defaults(run=_cmd_export)
    return parser


def _kb(args: argparse.Namespace) -> KnowledgeBase:
    return load(args.measures) if getattr(args, "measures", None) else load()


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _print_json(data: Any, out: TextIO) -> None:
    out.write(dumps(data).decode("utf-8") + "\n")


def _cmd_match(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    raw = read_profile(args.profile)
    ev = kb.evaluate(raw, year=args.year, engine=args.engine)
    if args.format == "json":
        _print_json(ev.to_dict(args.lang), out)
    else:
        out.write(evaluation_table(ev, args.lang, _colour(out)) + "\n")
    return EXIT_OK


def _cmd_precheck(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    ev = kb.evaluate(read_profile(args.profile), year=args.year)
    if ev.precheck is None:
        problem = Problem(
            Location(kb.model.file, 1, 1), "this measures file has no 'tech_sme_evaluation' section"
        )
        raise MeasuresFileError([problem], kb.model.file)
    if args.format == "json":
        _print_json(ev.to_dict(args.lang)["tech_sme_precheck"], out)
    else:
        out.write(precheck_table(ev, args.lang, _colour(out)) + "\n")
    return EXIT_OK


def _cmd_measures(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    if args.format == "json":
        _print_json(kb.catalogue(args.lang), out)
    else:
        out.write(catalogue_table(kb.model, args.lang) + "\n")
    return EXIT_OK


def _cmd_town(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    te = kb.town(args.name)
    if args.format == "json":
        _print_json(te.to_dict(args.lang), out)
    else:
        out.write(town_table(te, args.lang, _colour(out)) + "\n")
    return EXIT_OK


def _cmd_facts(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    if args.format == "json":
        facts = [
            {
                "id": f.id,
                "type": f.type.value,
                "unit": f.unit,
                "label_zh": f.label_zh,
                "label_en": f.label_en,
                "group": f.group,
            }
            for f in kb.model.facts.values()
        ]
        _print_json(
            {
                "facts": facts,
                "derived_facts": [
                    {"id": d.id, "formula": d.formula_text} for d in kb.model.derived.values()
                ],
            },
            out,
        )
    else:
        out.write(facts_table(kb.model, args.lang) + "\n")
    return EXIT_OK


MAX_ROW_ERRORS_SHOWN = 100  # on the terminal; the output file and JSON hold them all


def _cmd_roster(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    run = kb.roster(
        args.file,
        year=args.year,
        output=args.output,
        progress=not args.quiet,
        ignore_unknown_columns=args.ignore_unknown_columns,
    )
    errors = run.summary.errors
    for error in errors[:MAX_ROW_ERRORS_SHOWN]:
        sys.stderr.write(f"{args.file}: {error}\n")
    if len(errors) > MAX_ROW_ERRORS_SHOWN:
        sys.stderr.write(
            f"{args.file}: … and {len(errors) - MAX_ROW_ERRORS_SHOWN:,} more rows with errors"
            " (all are in the 'error' column of the output, and in --format json)\n"
        )
    if args.format == "json":
        summary = run.summary
        _print_json(
            {
                "rows": summary.rows,
                "invalid_rows": summary.invalid,
                "errors": [
                    {"row": e.row, "facts": list(e.facts), "message": e.message}
                    for e in summary.errors
                ],
                "benefits": {
                    b: dict(zip(("applies", "does_not_apply", "undetermined"), c, strict=True))
                    for b, c in summary.statuses.items()
                },
                "precheck": dict(
                    zip(
                        ("qualifies", "does_not_qualify", "undetermined"),
                        summary.precheck,
                        strict=True,
                    )
                ),
                "estimated_totals": {k: round(v, 2) for k, v in summary.totals.items()},
                "output": args.output,
            },
            out,
        )
    else:
        out.write(roster_table(run.summary, kb.model, args.file, args.output, args.lang) + "\n")
    return EXIT_OK


def _cmd_progress(args: argparse.Namespace, out: TextIO) -> int:
    from ._chart import progress_chart

    kb = _kb(args)
    report = kb.progress(args.roster, year=args.year, progress=not args.quiet)
    if args.format == "json":
        data = report.to_dict()
    else:
        out.write(progress_table(report, args.lang) + "\n")
    if args.chart:
        chart = progress_chart(report, args.chart, args.lang)
        message = f"chart: {chart.path} (font: {chart.font})"
        if chart.fallback:
            message += (
                "; no font with these Chinese characters was found, so the towns are labelled"
                " in pinyin and the words in English"
            )
        sys.stderr.write(message + "\n")
    if args.format == "json":
        if args.chart:
            data["chart"] = {"path": str(args.chart), "pinyin_labels": chart.fallback}
        _print_json(data, out)
    return EXIT_OK


def _cmd_mobilise(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    entries = kb.mobilise(
        args.roster,
        town=args.town,
        year=args.year,
        lang=args.lang,
        progress=not args.quiet,
        near=args.near_misses,
    )
    zh = args.lang != "en"
    head = (
        [
            "镇（开发区）",
            "名单",
            "行号",
            "企业名称",
            "预检通过方式",
            "预检得分",
            "是否已入库",
            "需补充的信息",
            "最小改变",
        ]
        if zh
        else [
            "town",
            "list",
            "row",
            "enterprise",
            "route",
            "score",
            "registered",
            "to supply",
            "smallest change",
        ]
    )
    route_words = {"direct": "直接认定" if zh else "direct", "score": "评分" if zh else "score"}
    registered_words = {"no": "否" if zh else "no", "unknown": "未知" if zh else "unknown"}
    group_words = {
        "pool": "应评尽评（预检可通过）" if zh else "pool (qualifies)",
        "near": "差一点（改变一项后可通过）" if zh else "near miss (one change away)",
    }
    path = Path(args.output)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    for e in entries:
        writer.writerow(
            [
                e.town,
                group_words[e.group],
                e.row,
                e.name or "",
                route_words.get(e.route or "", ""),
                "" if e.score is None else e.score,
                registered_words[e.registered],
                "、".join(e.missing) if zh else "; ".join(e.missing),
                e.change or "",
            ]
        )
    _write_atomically(path, buffer.getvalue())
    counts: dict[str, list[int]] = {}
    for e in entries:
        counts.setdefault(e.town, [0, 0])[e.group != "pool"] += 1
    pool = sum(c[0] for c in counts.values())
    near = sum(c[1] for c in counts.values())
    if zh:
        extra = f"，另有差一点的 {near} 家" if args.near_misses else ""
        out.write(f"应评尽评名单：{pool} 家企业{extra}，已写入 {path}\n")
    else:
        extra = f", plus {near} near misses" if args.near_misses else ""
        out.write(f"mobilisation list: {pool} enterprises{extra}, written to {path}\n")
    for town, (in_pool, near_misses) in counts.items():
        tail = f"  (+{near_misses})" if args.near_misses else ""
        out.write(f"  {town}  {in_pool}{tail}\n")
    return EXIT_OK


def _cmd_impact(args: argparse.Namespace, out: TextIO) -> int:
    report = load(args.old).impact(
        load(args.new), args.roster, year=args.year, details=args.details
    )
    if args.format == "json":
        _print_json(report.to_dict(), out)
    else:
        out.write(impact_table(report, args.lang) + "\n")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    load(args.measures) if args.measures else load()  # refuse a bad measures file before starting
    if args.measures:
        os.environ["POLICY_KB_MEASURES"] = str(Path(args.measures).resolve())
    if args.cors_origin:
        os.environ["POLICY_KB_CORS_ORIGINS"] = ",".join(args.cors_origin)
    out.write(
        f"policy-kb serving on http://{args.host}:{args.port}  (OpenAPI: /openapi.json, health: /healthz)\n"
    )
    out.flush()
    uvicorn.run(
        "policy_kb._service:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        server_header=False,
    )
    return EXIT_OK


def _cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    kb = load(args.file) if args.file else load()
    report = kb.lint(year=args.year)
    if args.format == "json":
        _print_json(lint_to_dict(report, kb.model, args.lang), out)
    else:
        out.write(lint_table(report, kb.model, args.lang) + "\n")
        for finding in report.findings:
            sys.stderr.write(f"{finding}\n")
    return EXIT_BAD_INPUT if report.errors else EXIT_OK


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    kb = load(args.file) if args.file else load()
    out.write(validation_summary(kb.model) + "\n")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    text = kb.export(args.format, with_ontology=args.with_ontology)
    if not text.endswith("\n"):
        text += "\n"
    if args.output:
        _write_atomically(Path(args.output), text)
    else:
        out.write(text)
    return EXIT_OK


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a failure never truncates it."""
    directory = path.parent if str(path.parent) else Path(".")
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _utf8(stream: TextIO) -> None:
    reconfigure: Callable[..., None] | None = getattr(stream, "reconfigure", None)
    encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
    if reconfigure is not None and encoding != "utf8":
        reconfigure(encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    _utf8(sys.stdout)
    _utf8(sys.stderr)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args, sys.stdout)
        sys.stdout.flush()
        return code
    except PolicyKBError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
            return EXIT_OK
        name = exc.filename if exc.filename is not None else ""
        sys.stderr.write(f"policy-kb: cannot read {name}: {exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # anything unexpected: a short message, no traceback
        if os.environ.get("POLICY_KB_DEBUG"):
            raise
        sys.stderr.write(
            f"policy-kb: unexpected error ({type(exc).__name__}: {exc}). "
            "Set POLICY_KB_DEBUG=1 to see the details, and please report it.\n"
        )
        return EXIT_UNEXPECTED


def _silence_stdout() -> None:
    """After a closed pipe (``policy-kb … | head``), avoid a second error at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)
