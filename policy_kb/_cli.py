"""The ``policy-kb`` command (also ``python -m policy_kb``).

Exit codes: 0 answered; 2 bad input (a profile, a measures file, a year, a name, a usage error);
1 anything unexpected. Errors are printed as their message only, never as a traceback
(set ``POLICY_KB_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
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
    lint_table,
    precheck_table,
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
