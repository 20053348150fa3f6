"""Every error policy_kb raises on purpose, written for the person who has to fix it.

    PolicyKBError                    base: catch this to catch everything below
    ├── MeasuresFileError            measures.yaml cannot be loaded; ``.problems`` lists them all
    │   └── ConditionSyntaxError     one condition does not parse or names an unknown fact
    ├── ProfileError                 an enterprise profile is refused; ``.issues`` lists them all
    │   └── ProfileSyntaxError       the profile is not well-formed JSON or YAML
    ├── RosterError                  a roster file cannot be read at all (its format, its header)
    ├── YearError                    no parameter value is in force for the year asked
    ├── UnknownNameError             an unknown measure, benefit, town, language … was asked for
    ├── OntologyError                an ontology file is missing or does not parse
    │   └── NotExpressibleError      a condition the OWL reasoner cannot express
    └── EnvironmentProblem           the machine lacks something (a Java runtime for the reasoner)

Each message names the place (file:line:column, or the fact), the value found and what was
expected, in Chinese by default and in English on request: ``error.render("en")``; ``str(error)``
is the Chinese text. None of them needs a traceback to be understood. The CLI exits 2 for every
error here except :class:`EnvironmentProblem`, which is not the user's input (exit 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .records import Valued
from .text import DEFAULT_LANG, LANGUAGES, Msg, Words, printable, quoted

__all__ = [
    "ConditionSyntaxError",
    "EnvironmentProblem",
    "Location",
    "MeasuresFileError",
    "NotExpressibleError",
    "OntologyError",
    "OutputError",
    "PolicyKBError",
    "Problem",
    "ProfileError",
    "ProfileIssue",
    "ProfileSyntaxError",
    "RosterError",
    "UnknownNameError",
    "YearError",
    "check_lang",
]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a source file: 1-based line and column, as editors count them."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Problem(Valued):
    """One mistake in measures.yaml (or in a profile file), located."""

    location: Location
    message: Msg
    expected: Msg | None = None

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """``file:line:col: message（expected）`` in ``lang``."""
        text = f"{self.location}: {self.message.render(lang)}"
        if self.expected is not None:
            hint = self.expected.render(lang)
            if hint:
                text += Msg("problem.expected", hint=hint).render(lang)
        return text

    def __str__(self) -> str:
        return self.render()


class PolicyKBError(Exception):
    """Base class of every error raised on purpose by policy_kb.

    ``message`` is the sentence of the catalogue; :meth:`render` writes it in a language.
    """

    message: Msg

    def __init__(self, message: Msg) -> None:
        self.message = message
        super().__init__(self.render())

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """The error's text in ``zh`` or ``en``."""
        return self.message.render(lang)

    def __str__(self) -> str:
        return self.render()


class MeasuresFileError(PolicyKBError):
    """The measures file has problems; nothing of it was loaded.

    ``problems`` holds every problem found in one pass, sorted by position.
    """

    def __init__(
        self, problems: Iterable[Problem], file: str | None = None, message: Msg | None = None
    ) -> None:
        self.problems: tuple[Problem, ...] = tuple(
            sorted(problems, key=lambda p: (p.location.line, p.location.column, p.message.key))
        )
        self.file = file
        count = len(self.problems)
        if message is None:
            message = Msg(
                "measures.problems.one" if count == 1 else "measures.problems", count=count
            )
        super().__init__(message)

    @classmethod
    def unreadable(cls, file: str, exc: OSError) -> MeasuresFileError:
        """The file cannot be read at all (missing, a folder, no permission): no problems, the
        system's reason."""
        return cls((), file, Msg("file.unreadable", path=file, detail=os_reason(exc)))

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """Every problem, one a line, and the count; past :data:`SHOWN_PROBLEMS` the rest are
        counted, not listed (a file of 100,000 stray keys printed 100,001 lines). The
        ``problems`` tuple keeps them all."""
        lines = [p.render(lang) for p in self.problems[:SHOWN_PROBLEMS]]
        if len(self.problems) > SHOWN_PROBLEMS:
            rest = len(self.problems) - SHOWN_PROBLEMS
            lines.append(Msg("measures.problems.more", count=rest).render(lang))
        lines.append(self.message.render(lang))
        return "\n".join(lines)


SHOWN_PROBLEMS = 200
"""How many problems of a measures file :meth:`MeasuresFileError.render` lists."""


class ConditionSyntaxError(MeasuresFileError):
    """A condition that does not parse, names an unknown fact, or mixes types."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__([problem], problem.location.file)

    def render(self, lang: str = DEFAULT_LANG) -> str:
        return self.problem.render(lang)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ProfileIssue(Valued):
    """One refused fact of a profile: which fact, which value, what was expected."""

    fact: str
    message: Msg
    location: Location | None = None

    def render(self, lang: str = DEFAULT_LANG) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return prefix + self.message.render(lang)

    def __str__(self) -> str:
        return self.render()


class ProfileError(PolicyKBError):
    """An enterprise profile was refused; ``issues`` holds one entry per problem."""

    def __init__(self, issues: Sequence[ProfileIssue]) -> None:
        self.issues: tuple[ProfileIssue, ...] = tuple(issues)
        super().__init__(Msg("profile.refused", count=len(self.issues)))

    def render(self, lang: str = DEFAULT_LANG) -> str:
        return "\n".join(i.render(lang) for i in self.issues)

    @property
    def facts(self) -> tuple[str, ...]:
        """The facts named by the issues, in order."""
        return tuple(i.fact for i in self.issues)


class ProfileSyntaxError(ProfileError):
    """A profile that is not well-formed JSON or YAML (nothing could be read from it)."""

    def __init__(self, message: Msg, location: Location | None = None) -> None:
        super().__init__([ProfileIssue("", message, location)])


class RosterError(PolicyKBError):
    """A roster file that cannot be read at all (its format, its header, its columns)."""


class OutputError(PolicyKBError):
    """An output that would overwrite an input, or that has no folder to go in."""


class YearError(PolicyKBError):
    """No value of a needed parameter is in force for the year asked."""

    def __init__(self, year: int | None, message: Msg) -> None:
        self.year = year
        super().__init__(message)


class UnknownNameError(PolicyKBError, LookupError):
    """An unknown measure, benefit, town, language or format was asked for by name."""

    def __init__(self, kind: str, name: str, suggestions: Sequence[str] = ()) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = (
            Msg(
                "name.hint",
                hint=Msg("hint.did_you_mean", names=Words(quoted(self.suggestions), "or")),
            )
            if self.suggestions
            else Msg("empty")
        )
        # a name as asked, control characters spelled out (never sent raw to a terminal)
        shown = printable(name)
        super().__init__(Msg("name.unknown", kind=Msg("kind." + kind), name=shown, hint=hint))


class OntologyError(PolicyKBError):
    """An ontology file shipped with policy_kb is missing or does not parse."""


class NotExpressibleError(OntologyError):
    """A condition the OWL 2 datatype restrictions cannot express."""

    def __init__(self, location: Location, condition: str, why: Msg) -> None:
        self.location = location
        self.condition = condition
        self.why = why
        super().__init__(Msg("owl.not_expressible", condition=condition, why=why))

    def render(self, lang: str = DEFAULT_LANG) -> str:
        return f"{self.location}: {self.message.render(lang)}"


class EnvironmentProblem(PolicyKBError):
    """The machine lacks something policy_kb needs for one task (a Java runtime for HermiT).

    Not the user's input: the CLI exits 1 and prints how to install what is missing.
    """


_OS_REASONS = frozenset(
    {
        "ENOENT",
        "EACCES",
        "EPERM",
        "EISDIR",
        "ENOTDIR",
        "ENOSPC",
        "EROFS",
        "EEXIST",
        "ENAMETOOLONG",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
    }
)


def os_reason(exc: OSError) -> Msg | str:
    """Why the system refused a file, in the reader's language for the usual reasons (a missing
    file, no permission, a folder, a full disk…); the system's own words otherwise."""
    import errno

    code = exc.errno
    if code is None:  # raised by Rust (polars): 'No space left on device (os error 28)'
        found = re.search(r"\(os error (\d+)\)", str(exc))
        code = int(found.group(1)) if found else 0
    name = errno.errorcode.get(code or 0)
    if name in _OS_REASONS:
        return Msg("os." + name)
    return exc.strerror or str(exc)


def check_lang(lang: Any) -> str:
    """The one language check: ``lang`` itself when it is ``zh`` or ``en``, else refused."""
    if lang in LANGUAGES:
        return str(lang)
    raise UnknownNameError("language", str(lang), [x for x in LANGUAGES if str(lang)[:1] == x[:1]])
