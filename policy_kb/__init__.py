"""policy_kb — policy-as-code for Wujin District's 2021 measures for technology-based SMEs.

《武进区加快推进科技型中小企业发展的实施意见》 as a knowledge model: for an enterprise profile, which
measures and benefits apply, which do not, which cannot be decided yet, why, and where the text
says so::

    import policy_kb

    result = policy_kb.evaluate({"employees": 120, "tech_sme_registered": True, "rd_expense": 3_000_000})
    result.status("KM7.rd_super_deduction")     # Status.APPLIES
    result.to_json()                              # the public JSON contract

Everything public is exported here; modules starting with ``_`` are internal.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from ._errors import (
    ConditionSyntaxError,
    Location,
    MeasuresFileError,
    OntologyError,
    PolicyKBError,
    Problem,
    ProfileError,
    ProfileIssue,
    ProfileSyntaxError,
    UnknownNameError,
    YearError,
)
from ._kb import KnowledgeBase, load
from ._model import Audience, BenefitKind, MeasureKind, PolicyModel, Status
from ._profile import Profile, read_profile
from ._results import BenefitResult, Evaluation, MeasureResult, TownEvaluation

__version__ = "0.1.0"

__all__ = [
    "Audience",
    "BenefitImpact",
    "BenefitKind",
    "BenefitResult",
    "ConditionSyntaxError",
    "Evaluation",
    "Impact",
    "KnowledgeBase",
    "Location",
    "MeasureKind",
    "MeasureResult",
    "MeasuresFileError",
    "OntologyError",
    "PolicyKBError",
    "PolicyModel",
    "PoolEntry",
    "Problem",
    "Profile",
    "ProfileError",
    "ProfileIssue",
    "ProfileSyntaxError",
    "Progress",
    "RosterError",
    "RosterRun",
    "RosterSummary",
    "RowError",
    "Status",
    "TownEvaluation",
    "TownProgress",
    "UnknownNameError",
    "YearError",
    "__version__",
    "default_kb",
    "evaluate",
    "load",
    "read_profile",
]


if TYPE_CHECKING:
    from ._district import BenefitImpact, Impact, PoolEntry, Progress, TownProgress
    from ._roster import RosterError, RosterRun, RosterSummary, RowError

# Roster and district results load numpy, polars and pyarrow: imported on first use only.
_LAZY = {
    "RosterRun": "._roster",
    "RosterSummary": "._roster",
    "RowError": "._roster",
    "RosterError": "._roster",
    "Progress": "._district",
    "TownProgress": "._district",
    "PoolEntry": "._district",
    "Impact": "._district",
    "BenefitImpact": "._district",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'policy_kb' has no attribute '{name}'")


@cache
def default_kb() -> KnowledgeBase:
    """The knowledge base of the shipped measures.yaml, loaded once per process.

    The knowledge base never changes after loading, so sharing it is safe.
    """
    return load()


def evaluate(profile: Any, *, year: int | None = None, engine: str = "fast") -> Evaluation:
    """Evaluate one enterprise profile against the shipped policy.

    ``profile`` is a mapping of fact ids to values (READING.md §2); absent facts are unknown.
    ``engine="owl"`` decides the statuses with the HermiT reasoner (needs Java).
    Same as ``policy_kb.default_kb().evaluate(profile, year=year, engine=engine)``.
    """
    return default_kb().evaluate(profile, year=year, engine=engine)
