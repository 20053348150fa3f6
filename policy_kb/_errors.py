"""Every error policy_kb raises on purpose, written for the person who has to fix it.

    PolicyKBError                    base: catch this to catch everything below
    ├── MeasuresFileError            measures.yaml cannot be loaded; ``.problems`` lists them all
    │   └── ConditionSyntaxError     one condition does not parse or names an unknown fact
    ├── ProfileError                 an enterprise profile is refused; ``.issues`` lists them all
    │   └── ProfileSyntaxError       the profile is not well-formed JSON or YAML
    ├── YearError                    no parameter value is in force for the year asked
    ├── UnknownNameError             an unknown measure, benefit or town was asked for
    └── OntologyError                an ontology file is missing or does not parse

Each message names the place (file:line:column, or the fact), the value found and what was
expected. None of them needs a traceback to be understood; the CLI prints ``str(error)`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ConditionSyntaxError",
    "Location",
    "MeasuresFileError",
    "OntologyError",
    "PolicyKBError",
    "Problem",
    "ProfileError",
    "ProfileIssue",
    "ProfileSyntaxError",
    "UnknownNameError",
    "YearError",
]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a source file: 1-based line and column, as editors count them."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in measures.yaml (or in a profile file), located."""

    location: Location
    message: str
    expected: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.expected:
            text += f" ({self.expected})"
        return text


class PolicyKBError(Exception):
    """Base class of every error raised on purpose by policy_kb."""


class MeasuresFileError(PolicyKBError):
    """The measures file has problems; nothing of it was loaded.

    ``problems`` holds every problem found in one pass, sorted by position.
    """

    def __init__(self, problems: Iterable[Problem], file: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(
            sorted(problems, key=lambda p: (p.location.line, p.location.column, p.message))
        )
        self.file = file
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [str(p) for p in self.problems]
        count = len(self.problems)
        lines.append(f"{count} problem{'s' if count != 1 else ''} found; nothing was loaded.")
        return "\n".join(lines)


class ConditionSyntaxError(MeasuresFileError):
    """A condition that does not parse, names an unknown fact, or mixes types."""

    def __init__(self, problem: Problem) -> None:
        super().__init__([problem], problem.location.file)
        self.problem = problem

    def _render(self) -> str:
        return str(self.problems[0])


@dataclass(frozen=True, slots=True)
class ProfileIssue:
    """One refused fact of a profile: which fact, which value, what was expected."""

    fact: str
    message: str
    location: Location | None = None

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}{self.message}"


class ProfileError(PolicyKBError):
    """An enterprise profile was refused; ``issues`` holds one entry per problem."""

    def __init__(self, issues: Sequence[ProfileIssue]) -> None:
        self.issues: tuple[ProfileIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @property
    def facts(self) -> tuple[str, ...]:
        """The facts named by the issues, in order."""
        return tuple(i.fact for i in self.issues)


class ProfileSyntaxError(ProfileError):
    """A profile that is not well-formed JSON or YAML (nothing could be read from it)."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__([ProfileIssue("", message, location)])


class YearError(PolicyKBError):
    """No value of a needed parameter is in force for the year asked."""

    def __init__(self, year: int | None, message: str) -> None:
        self.year = year
        super().__init__(message)


class UnknownNameError(PolicyKBError, LookupError):
    """An unknown measure, benefit, town or fact was asked for by name."""

    def __init__(self, kind: str, name: str, suggestions: Sequence[str] = ()) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = tuple(suggestions)
        text = f"unknown {kind} {name!r}"
        if self.suggestions:
            text += f" (did you mean {' or '.join(repr(s) for s in self.suggestions)}?)"
        super().__init__(text)

    def __str__(self) -> str:  # LookupError would quote the message otherwise
        return str(self.args[0])


class OntologyError(PolicyKBError):
    """An ontology file shipped with policy_kb is missing or does not parse."""
