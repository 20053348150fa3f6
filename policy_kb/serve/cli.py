"""The ``policy-kb`` command (also ``python -m policy_kb``).

Exit codes: 0 answered; 2 bad input (a profile, a measures file, a year, a name, a usage error);
1 anything unexpected, or something the machine lacks (a Java runtime). Errors are printed as
their message only, in the language asked (Chinese by default, ``--lang en``), never as a
traceback (set ``POLICY_KB_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .. import files
from ..api import KnowledgeBase, load
from ..errors import (
    EnvironmentProblem,
    Location,
    MeasuresFileError,
    PolicyKBError,
    Problem,
    os_reason,
)
from ..files import check_output
from ..policy.loader import files_read
from ..policy.model import PRECHECK
from ..policy.profile import read_profile
from ..policy.resources import data_file
from ..text import Msg, did_you_mean, say
from ..version import __version__
from ..views import tables

WORKERS_PER_CORE = 4  # more workers than this per core only share the cores, at a process each
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
MAX_ROW_ERRORS_SHOWN = 100  # on the terminal; the output file and JSON hold them all


def _columns() -> int:
    """The terminal's width, as ``shutil.get_terminal_size`` finds it (``COLUMNS`` first)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, sized without importing shutil (argparse imports it for every
    option added: 2.5 ms of each start)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )
        self.lang = "zh"  # the parser sets its own (_Parser._get_formatter)

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        if prefix is None:
            prefix = say(self.lang, "cli.help.usage")
        super().add_usage(usage, actions, groups, prefix)


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line error in the command's language (argparse writes
    its own in English: the usual ones are said again from the message catalogue)."""

    lang = "zh"  # set on each parser built by _parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def _get_formatter(self) -> argparse.HelpFormatter:
        formatter = super()._get_formatter()
        formatter.lang = self.lang  # type: ignore[attr-defined]
        return formatter

    def format_help(self) -> str:
        """argparse's help with its own words (headings, -h, --version) in the command's
        language: ``usage:`` and ``positional arguments`` were English in a Chinese help."""
        self._positionals.title = say(self.lang, "cli.help.positionals")
        self._optionals.title = say(self.lang, "cli.help.options")
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = say(self.lang, "cli.help.help")
            elif isinstance(action, argparse._VersionAction):
                action.help = say(self.lang, "cli.help.version")
        # argparse ends a heading with ':' whatever the language: 位置参数：, not 位置参数:
        colon = say(self.lang, "cli.help.colon")
        shown = super().format_help()
        for title in (self._positionals.title, self._optionals.title):
            shown = shown.replace(f"\n{title}:\n", f"\n{title}{colon}\n")
        return shown

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        said = _usage_error(message, self.lang)
        hint = _close_name(self, message)
        if hint is not None:
            said = say(self.lang, "cli.usage.with_hint", said=said, hint=hint)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {said}\n")


def _close_name(parser: argparse.ArgumentParser, message: str) -> Msg | None:
    """Did you mean …: for a mistyped option, among the options of the command being run (its
    parser is built for that command alone); for a mistyped command or choice, among the
    choices. None when nothing is close."""
    found = re.fullmatch(r"unrecognized arguments: (?P<args>.*)", message)
    if found:
        # compared without their dashes, which would make any two options look alike
        known = sorted(option[2:] for option in _options(parser))
        for token in found["args"].split():
            if token.startswith("--"):
                hint = did_you_mean(token.split("=", 1)[0][2:], known, lambda o: "--" + o)
                if hint is not None:
                    return hint
        return None
    found = re.fullmatch(
        r"argument \S+: invalid choice: '(?P<value>[^']*)' \(choose from (?P<choices>.*)\)", message
    )
    if found:
        return did_you_mean(found["value"], re.findall(r"'([^']*)'", found["choices"]))
    return None


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every long option of a parser and of its commands (argparse has no public walk)."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


_USAGE_ERRORS = (
    (re.compile(r"unrecognized arguments: (?P<args>.*)"), "cli.usage.unrecognized"),
    (re.compile(r"the following arguments are required: (?P<args>.*)"), "cli.usage.required"),
    (
        re.compile(
            r"argument (?P<arg>\S+): invalid choice: (?P<value>.*?) \(choose from (?P<choices>.*)\)"
        ),
        "cli.usage.choice",
    ),
    (
        re.compile(r"argument (?P<arg>\S+): invalid (?P<kind>\w+) value: (?P<value>.*)"),
        "cli.usage.invalid",
    ),
    (re.compile(r"argument (?P<arg>\S+): expected one argument"), "cli.usage.one_value"),
)


def _usage_error(message: str, lang: str) -> str:
    """argparse's error said in ``lang``, for the errors a user meets; any other as argparse
    wrote it."""
    for pattern, key in _USAGE_ERRORS:
        found = pattern.fullmatch(message)
        if found:
            args: dict[str, Any] = found.groupdict()
            if args.get("kind") in ("int", "float", "year"):
                args["kind"] = Msg("cli.usage.kind." + args["kind"])
            return say(lang, key, **args)
    return say(lang, "cli.usage.other", detail=message)


def _parents(h: Callable[[str], str]) -> dict[str, _Parser]:
    measures = _Parser(add_help=False)
    measures.add_argument("--measures", metavar="FILE", help=h("measures"))
    lang = _Parser(add_help=False)
    lang.add_argument("--lang", choices=("zh", "en"), default="zh", help=h("lang"))
    fmt = _Parser(add_help=False)
    fmt.add_argument("--format", choices=("table", "json"), default="table", help=h("format"))
    in_year = _Parser(add_help=False)
    in_year.add_argument("--year", type=year, help=h("year"))
    roster = _Parser(add_help=False)
    roster.add_argument("--quiet", action="store_true", help=h("quiet"))
    roster.add_argument("--ignore-unknown-columns", action="store_true", help=h("ignore_unknown"))
    roster.add_argument("--amounts-are-yuan", action="store_true", help=h("amounts_are_yuan"))
    return {"measures": measures, "lang": lang, "format": fmt, "year": in_year, "roster": roster}


COMMANDS = frozenset(
    [
        "match",
        "precheck",
        "measures",
        "town",
        "facts",
        "roster",
        "progress",
        "mobilise",
        "readiness",
        "impact",
        "serve",
        "lint",
        "validate",
        "export",
    ]
)


def _document() -> Any:
    """The JSON views, imported when a command prints JSON (a table does not need them)."""
    from ..views import document

    return document


class _Skipped:
    """Stands for a command that is not being run: its arguments are not built (see ``only``)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        return None


def year(text: str) -> int:
    """``--year``: ASCII digits, as a profile's year is written (int() took '2_022', ' 2022'
    and full-width digits; found by a hostile-input review). argparse names the kind after
    this function: 'invalid year value'."""
    if not re.fullmatch(r"-?[0-9]+", text):  # the range is checked where the year is used
        raise ValueError(text)
    return int(text)


def _parser(lang: str, only: str | None = None) -> argparse.ArgumentParser:
    """The command line. ``only``: build that command alone (the one being run), since building
    every command's options and help costs more than running ``match`` itself; the full parser
    is built for ``--help``, ``--version`` and anything that is not a command."""

    def h(key: str) -> str:
        return say(lang, "cli." + key)

    p = _parents(h)
    parser = _Parser(prog="policy-kb", description=h("description"))
    parser.lang = lang
    parser.add_argument("--version", action="version", version=f"policy-kb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def command(name: str, run: Callable[[argparse.Namespace, TextIO], int], *parents: str) -> Any:
        if only is not None and name != only:
            return _Skipped()
        c = sub.add_parser(name, parents=[p[x] for x in parents], help=h("cmd." + name))
        c.lang = lang
        c.set_defaults(run=run)
        return c

    c = command("match", _cmd_match, "measures", "lang", "format", "year")
    c.add_argument("profile", metavar="PROFILE")
    c.add_argument("--engine", choices=("fast", "owl"), default="fast", help=h("engine"))
    c.add_argument("--detail", choices=("full", "summary"), default="full", help=h("detail"))
    command("precheck", _cmd_precheck, "measures", "lang", "format", "year").add_argument(
        "profile", metavar="PROFILE"
    )
    command("measures", _cmd_measures, "measures", "lang", "format")
    command("town", _cmd_town, "measures", "lang", "format").add_argument(
        "name", metavar="NAME", help=h("town_name")
    )
    command("facts", _cmd_facts, "measures", "lang", "format")
    c = command("roster", _cmd_roster, "measures", "lang", "format", "year", "roster")
    c.add_argument("file", metavar="FILE", help=h("roster_file"))
    c.add_argument("-o", "--output", metavar="OUT", help=h("roster_output"))
    c.add_argument("--engine", choices=("arrow", "spark"), default="arrow", help=h("engine_roster"))
    c.add_argument("--master", metavar="URL", help=h("master"))
    c = command("progress", _cmd_progress, "measures", "lang", "format", "year", "roster")
    c.add_argument("roster", metavar="ROSTER")
    c.add_argument("--chart", metavar="FILE", help=h("chart"))
    c = command("mobilise", _cmd_mobilise, "measures", "lang", "year", "roster")
    c.add_argument("roster", metavar="ROSTER")
    c.add_argument("-o", "--output", metavar="FILE", required=True, help=h("mobilise_output"))
    c.add_argument("--town", metavar="NAME", help=h("mobilise_town"))
    c.add_argument("--near-misses", action="store_true", help=h("near_misses"))
    c = command("readiness", _cmd_readiness, "measures", "lang", "format", "year", "roster")
    c.add_argument("roster", metavar="ROSTER")
    c.add_argument("-o", "--output", metavar="OUT", help=h("readiness_output"))
    c.add_argument("--town", metavar="NAME", help=h("mobilise_town"))
    c = command("impact", _cmd_impact, "lang", "format", "year", "roster")
    c.add_argument("roster", metavar="ROSTER")
    c.add_argument("--old", metavar="OLD.yaml", required=True, help=h("old"))
    c.add_argument("--new", metavar="NEW.yaml", required=True, help=h("new"))
    c.add_argument("--details", action="store_true", help=h("details"))
    c = command("serve", _cmd_serve, "measures", "lang")
    c.add_argument("--host", default="127.0.0.1", help=h("host"))
    c.add_argument("--port", type=int, default=8000, help=h("port"))
    c.add_argument("--workers", type=int, default=1, help=h("workers"))
    c.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN", help=h("cors"))
    c = command("lint", _cmd_lint, "measures", "lang", "format", "year")
    c.add_argument("file", metavar="FILE", nargs="?", help=h("lint_file"))
    command("validate", _cmd_validate, "measures", "lang").add_argument(
        "file", metavar="FILE", nargs="?", help=h("validate_file")
    )
    c = command("export", _cmd_export, "measures", "lang")
    c.add_argument(
        "--format",
        choices=("turtle", "json-ld", "nt", "xml", "owl"),
        default="turtle",
        help=h("export_format"),
    )
    c.add_argument("-o", "--output", metavar="FILE", help=h("export_output"))
    c.add_argument("--with-ontology", action="store_true", help=h("with_ontology"))
    return parser


def _kb(args: argparse.Namespace, file: str | None = None) -> KnowledgeBase:
    """The knowledge base of ``file`` or of ``--measures``; else the installed one, said so when
    the folder the command runs in holds another measures.yaml."""
    file = file or getattr(args, "measures", None)
    if file:
        return load(file)
    _note_packaged(getattr(args, "lang", "zh"))
    return load()


def _inputs(args: argparse.Namespace, kb: KnowledgeBase) -> list[str | Path | None]:
    """Every file a command reads (the roster, the measures file and its source text, the
    files the package ships): an output may be none of them."""
    return [getattr(args, "roster", None), getattr(args, "measures", None), *files_read(kb.model)]


def _note_packaged(lang: str) -> None:
    """Say so when the measures.yaml of the folder the command runs in is not the one read: a
    policy officer who edits it in a checkout installed with ``pip install .`` would otherwise
    check and export the installed copy without knowing."""
    here = Path("measures.yaml")
    installed = data_file("measures.yaml")
    try:
        if not here.is_file() or here.resolve() == installed.resolve():
            return
        if here.read_bytes() == installed.read_bytes():
            return
    except OSError:
        return
    sys.stderr.write(say(lang, "cli.packaged_measures", installed=installed.resolve()) + "\n")


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _print_json(data: Any, out: TextIO) -> None:
    out.write(_document().dumps(data).decode("utf-8") + "\n")


def _cmd_match(args: argparse.Namespace, out: TextIO) -> int:
    if args.detail != "full" and args.format != "json":  # said, not ignored
        raise PolicyKBError(Msg("cli.detail_needs_json"))
    ev = _kb(args).evaluate(read_profile(args.profile), year=args.year, engine=args.engine)
    if args.format == "json":
        out.write(ev.to_json(args.lang, detail=args.detail) + "\n")
    else:
        out.write(tables.evaluation_table(ev, args.lang, _colour(out)) + "\n")
    return EXIT_OK


def _cmd_precheck(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    ev = kb.evaluate(read_profile(args.profile), year=args.year)
    if ev.precheck is None:
        problem = Problem(Location(kb.model.file, 1, 1), Msg("cli.no_evaluation"))
        raise MeasuresFileError([problem], kb.model.file)
    if args.format == "json":
        _print_json(ev.to_dict(args.lang)[PRECHECK], out)
    else:
        out.write(tables.precheck_table(ev, args.lang, _colour(out)) + "\n")
    return EXIT_OK


def _cmd_measures(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    if args.format == "json":
        _print_json(kb.catalogue(args.lang), out)
    else:
        out.write(tables.catalogue_table(kb.model, args.lang) + "\n")
    return EXIT_OK


def _cmd_town(args: argparse.Namespace, out: TextIO) -> int:
    te = _kb(args).town(args.name)
    if args.format == "json":
        _print_json(te.to_dict(args.lang), out)
    else:
        out.write(tables.town_table(te, args.lang, _colour(out)) + "\n")
    return EXIT_OK


def _cmd_facts(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    if args.format == "json":
        _print_json(_document().facts_list(kb.model), out)
    else:
        out.write(tables.facts_table(kb.model, args.lang) + "\n")
    return EXIT_OK


def _cmd_roster(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    if args.engine == "spark":
        summary = _spark_roster(kb, args)
    else:
        summary = kb.roster(
            args.file,
            year=args.year,
            output=args.output,
            progress=not args.quiet,
            ignore_unknown_columns=args.ignore_unknown_columns,
            amounts_are_yuan=args.amounts_are_yuan,
            lang=args.lang,
        ).summary
    _row_errors(summary.errors, args.file, args.lang)
    if args.format == "json":
        _print_json(_document().roster_to_dict(summary, args.output, args.lang), out)
    else:
        out.write(tables.roster_table(summary, args.file, args.output, args.lang) + "\n")
    return EXIT_OK


def _spark_roster(kb: KnowledgeBase, args: argparse.Namespace) -> Any:
    """``roster --engine spark``: the same kernel inside Apache Spark (the optional extra)."""
    try:
        from .. import spark
    except ImportError:
        raise PolicyKBError(Msg("spark.not_installed")) from None
    from ..district.roster import Reading

    return spark.run_roster(
        kb,
        args.file,
        output=args.output,
        master=args.master or "local[*]",
        year=args.year,
        lang=args.lang,
        reading=Reading(args.ignore_unknown_columns, args.amounts_are_yuan),
    )


def _cmd_progress(args: argparse.Namespace, out: TextIO) -> int:
    from ..views.chart import check_chart_path, progress_chart

    kb = _kb(args)
    if args.chart:  # before the roster is read
        check_chart_path(args.chart)
        check_output(args.chart, _inputs(args, kb))
    report = kb.progress(
        args.roster,
        year=args.year,
        progress=not args.quiet,
        ignore_unknown_columns=args.ignore_unknown_columns,
        amounts_are_yuan=args.amounts_are_yuan,
    )
    _row_errors(report.errors, args.roster, args.lang)
    data = report.to_dict(args.lang)
    if args.format != "json":
        out.write(tables.progress_table(report, args.lang) + "\n")
    if args.chart:
        chart = progress_chart(report, args.chart, args.lang, _inputs(args, kb))
        note = say(args.lang, "cli.chart_pinyin") if chart.fallback else ""
        sys.stderr.write(
            say(args.lang, "cli.chart_written", path=str(chart.path), font=chart.font, note=note)
            + "\n"
        )
        data["chart"] = {"path": str(args.chart), "pinyin_labels": chart.fallback}
    if args.format == "json":
        _print_json(data, out)
    return EXIT_OK


def _cmd_mobilise(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    check_output(args.output, _inputs(args, kb), (".csv",))  # before the roster is read
    entries = kb.mobilise(
        args.roster,
        town=args.town,
        year=args.year,
        lang=args.lang,
        progress=not args.quiet,
        near=args.near_misses,
        ignore_unknown_columns=args.ignore_unknown_columns,
        amounts_are_yuan=args.amounts_are_yuan,
    )
    _row_errors(entries.errors, args.roster, args.lang)
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [files.safe_cell(cell) for cell in row]
        for row in tables.mobilise_rows(entries, kb.model, args.lang)
    )
    files.write_text(args.output, buffer.getvalue(), _inputs(args, kb))
    out.write(tables.mobilise_summary(entries, args.output, args.near_misses, args.lang) + "\n")
    return EXIT_OK


def _row_errors(errors: Sequence[Any], file: str, lang: str) -> None:
    """The refused rows of a roster on standard error: the first few, then how many more."""
    for error in errors[:MAX_ROW_ERRORS_SHOWN]:
        sys.stderr.write(f"{file}: {error.render(lang)}\n")
    if len(errors) > MAX_ROW_ERRORS_SHOWN:
        more = f"{len(errors) - MAX_ROW_ERRORS_SHOWN:,}"
        sys.stderr.write(say(lang, "cli.more_errors", file=file, n=more) + "\n")


def _cmd_readiness(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    if args.output is not None:
        check_output(args.output, _inputs(args, kb), (".csv",))  # before the roster is read
    report = kb.readiness(
        args.roster,
        town=args.town,
        year=args.year,
        progress=not args.quiet,
        ignore_unknown_columns=args.ignore_unknown_columns,
        amounts_are_yuan=args.amounts_are_yuan,
    )
    _row_errors(report.errors, args.roster, args.lang)
    if args.output:
        import csv

        buffer = io.StringIO()
        csv.writer(buffer).writerows(
            [files.safe_cell(cell) for cell in row]
            for row in tables.readiness_rows(report, kb.model, args.lang)
        )
        files.write_text(args.output, buffer.getvalue(), _inputs(args, kb))
    if args.format == "json":
        _print_json(report.to_dict(), out)
    else:
        out.write(tables.readiness_table(report, kb.model, args.lang) + "\n")
        if args.output:
            out.write(say(args.lang, "readiness.written", path=args.output) + "\n")
    return EXIT_OK


def _cmd_impact(args: argparse.Namespace, out: TextIO) -> int:
    report = load(args.old).impact(
        load(args.new),
        args.roster,
        year=args.year,
        details=args.details,
        ignore_unknown_columns=args.ignore_unknown_columns,
        amounts_are_yuan=args.amounts_are_yuan,
    )
    if args.format == "json":
        _print_json(report.to_dict(), out)
    else:
        out.write(tables.impact_table(report, args.lang) + "\n")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    _kb(args)  # refuse a bad measures file before starting
    _can_listen(args.host, args.port, args.workers)
    if args.measures:
        os.environ["POLICY_KB_MEASURES"] = str(Path(args.measures).resolve())
    if args.cors_origin:
        os.environ["POLICY_KB_CORS_ORIGINS"] = ",".join(args.cors_origin)
    out.write(say(args.lang, "serve.listening", host=args.host, port=args.port) + "\n")
    out.flush()
    uvicorn.run(
        "policy_kb.serve.http:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        server_header=False,
        http="policy_kb.serve.wire:Protocol",  # unparsable requests answered as JSON problems too
    )
    return EXIT_OK


def _can_listen(host: str, port: int, workers: int) -> None:
    """Refuse, before announcing the address, what the server could not listen on: a port
    outside 1–65535 (99999 was announced, then bound as 99999 mod 65536), no worker, a host that
    does not resolve, a port in use or not allowed (those were announced, then failed in
    uvicorn's English with exit 3). A trial bind of the port, closed at once."""
    import socket

    if not 1 <= port <= 65535:
        raise PolicyKBError(Msg("serve.port_range", port=port))
    if workers < 1:
        raise PolicyKBError(Msg("serve.workers", workers=workers))
    most = WORKERS_PER_CORE * (os.cpu_count() or 1)
    if workers > most:  # 100,000 forked until the kernel killed processes that were not its own
        raise PolicyKBError(Msg("serve.too_many_workers", workers=workers, most=most))
    try:  # "" is every interface, as uvicorn takes it
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (OSError, UnicodeError):
        raise PolicyKBError(Msg("serve.host", host=host)) from None
    shown = f"[{host}]" if ":" in host else host
    for family, kind, proto, _, address in found:  # uvicorn listens on each address found
        with socket.socket(family, kind, proto) as trial:
            trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            if family == getattr(socket, "AF_INET6", None):
                trial.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                trial.bind(address)
            except OSError as exc:
                raise PolicyKBError(
                    Msg("serve.cannot_listen", host=shown, port=port, reason=os_reason(exc))
                ) from None


def _measures_file(args: argparse.Namespace) -> str | None:
    """The measures file of ``validate`` and ``lint``: FILE, or ``--measures FILE`` as every
    other command takes it; both only when they name the same file."""
    file, option = args.file, args.measures
    if file and option and Path(file).resolve() != Path(option).resolve():
        raise PolicyKBError(Msg("cli.two_measures", file=file, option=option))
    return str(file or option) if (file or option) else None


def _cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args, _measures_file(args))
    report = kb.lint(year=args.year)
    if args.format == "json":
        _print_json(_document().lint_to_dict(report, kb.model, args.lang), out)
    else:
        out.write(tables.lint_table(report, kb.model, args.lang) + "\n")
        for finding in report.findings:
            sys.stderr.write(finding.render(args.lang) + "\n")
    return EXIT_BAD_INPUT if report.errors else EXIT_OK


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args, _measures_file(args))
    out.write(tables.validation_summary(kb.model, args.lang) + "\n")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    kb = _kb(args)
    text = kb.export(args.format, with_ontology=args.with_ontology)
    if not text.endswith("\n"):
        text += "\n"
    if args.output:
        files.write_text(args.output, text, _inputs(args, kb))
    else:
        out.write(text)
    return EXIT_OK


def _utf8(stream: TextIO) -> None:
    reconfigure: Callable[..., None] | None = getattr(stream, "reconfigure", None)
    encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
    if reconfigure is not None and encoding != "utf8":
        reconfigure(encoding="utf-8")


def _lang_of(argv: Sequence[str]) -> str:
    """The language asked on the command line (before it is parsed: the help is written in it)."""
    items = list(argv)
    for i, item in enumerate(items):
        if item == "--lang" and i + 1 < len(items):
            return "en" if items[i + 1] == "en" else "zh"
        if item.startswith("--lang="):
            return "en" if item.split("=", 1)[1] == "en" else "zh"
    return "zh"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    return _main(argv)[0]


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``policy-kb`` command and ``python -m policy_kb``: :func:`main`, then the exit.

    The process ends without the interpreter's teardown (``os._exit``, once stdout and stderr
    are flushed): by then the command has closed every file it wrote and put it under its name,
    and what is left is memory, thread pools and some hundred modules to free one by one — 16 ms
    of a 0.15 s ``policy-kb match``, 40–50 ms of a 1,000,000-row Parquet roster's 0.67 s.
    ``serve`` exits as usual, and so does ``roster --engine spark`` (Spark's JVM is stopped at
    the interpreter's exit)."""
    code, quick = _main(argv)
    if quick:
        for stream in (sys.stdout, sys.stderr):
            # a closed pipe: nothing more can be said there
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _main(argv: Sequence[str] | None) -> tuple[int, bool]:
    """The exit code, and whether the process may end without the interpreter's teardown."""
    _utf8(sys.stdout)
    _utf8(sys.stderr)
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = _lang_of(argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    args = _parser(lang, only).parse_args(argv)
    quick = args.run is not _cmd_serve and getattr(args, "engine", None) != "spark"
    if only in ROSTER_COMMANDS:
        from . import allocators  # only a roster command changes its process's allocators

        allocators.for_rosters()
    return _command(args, lang), quick


def _command(args: argparse.Namespace, lang: str) -> int:
    """Run the parsed command: the exit code, and a message for people on any failure."""
    previous = _stop_once()
    try:
        code: int = args.run(args, sys.stdout)
        sys.stdout.flush()
        return code
    except EnvironmentProblem as exc:
        sys.stderr.write(exc.render(lang) + "\n")
        return EXIT_UNEXPECTED
    except PolicyKBError as exc:
        sys.stderr.write(exc.render(lang) + "\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
            return EXIT_OK
        name = exc.filename if exc.filename is not None else ""
        sys.stderr.write(say(lang, "file.unreadable", path=name, detail=os_reason(exc)) + "\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        sys.stderr.write("\n" + say(lang, "cli.interrupted") + "\n")
        return 143 if isinstance(exc, _Terminated) else 130
    except Exception as exc:  # anything unexpected: a short message, no traceback
        if os.environ.get("POLICY_KB_DEBUG"):
            raise
        sys.stderr.write(
            say(lang, "cli.unexpected", kind=type(exc).__name__, detail=str(exc)) + "\n"
        )
        return EXIT_UNEXPECTED
    finally:
        if previous is not None:
            import signal

            for signum, handler in previous.items():
                signal.signal(signum, handler)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager, a job scheduler, ``kill``): stopped as Ctrl-C stops a command,
    so a file being written is removed, not left half-written beside its target."""


REPEAT_SECONDS = 1.0
"""A second Ctrl-C (or SIGTERM) this soon after the first is not raised again (see
:func:`_stop_once`)."""


def _stop_once() -> dict[int, Any] | None:
    """While a command runs, SIGINT raises ``KeyboardInterrupt`` and SIGTERM :class:`_Terminated`,
    once: a repeat within :data:`REPEAT_SECONDS` is not raised. The first is what stops every
    stage and removes a file being written; raising again would cut that cleaning short. And one
    Ctrl-C can arrive twice: pyarrow's CSV reader catches the signal to cancel its read and sends
    it again to the main thread (``SignalStopHandler`` in ``pyarrow/error.pxi``). A repeat later
    than that is raised, so a stuck clean-up can still be left with a second Ctrl-C. Returns the
    previous handlers, to be put back (None when this is not the main thread, where no handler
    can be set)."""
    import signal
    import threading
    import time

    if threading.current_thread() is not threading.main_thread():
        return None
    first: list[float] = []  # when the first signal came

    def stop(signum: int, _frame: Any) -> None:
        now = time.monotonic()
        if first and now - first[0] < REPEAT_SECONDS:
            return  # the command is stopping already
        first[:] = [now]
        raise _Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    return {  # a signal the parent set to be ignored (`cmd &` in a script, trap '' INT) stays so
        signum: signal.signal(signum, stop)
        for signum in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(signum) is not signal.SIG_IGN
    }


ROSTER_COMMANDS = frozenset({"roster", "progress", "mobilise", "readiness", "impact"})


def _silence_stdout() -> None:
    """After a closed pipe (``policy-kb … | head``), avoid a second error at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)
