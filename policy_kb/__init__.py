"""policy_kb — policy-as-code for Wujin District's 2021 measures for technology-based SMEs.

《武进区加快推进科技型中小企业发展的实施意见》 as a knowledge model: for an enterprise profile, which
measures and benefits apply, which do not, which cannot be decided yet, why, and where the text
says so::

    import policy_kb

    result = policy_kb.evaluate({"employees": 120, "tech_sme_registered": True, "rd_expense": 3_000_000})
    result.status("KM7.rd_super_deduction")     # Status.APPLIES
    result.to_json()                              # the public JSON contract

Everything public is exported here; the subpackages are the layers inside (README, Architecture).
"""

from __future__ import annotations

import gc as _gc
from typing import TYPE_CHECKING, Any

# Importing the package creates some sixty classes and thousands of objects that live as long as
# the process; a collection in between walks them all for nothing (about 5 % of a `policy-kb match`).
# The collector is paused for the import only, and left as it was found.
_collecting = _gc.isenabled()
_gc.disable()
try:
    from .api import Evaluation, KnowledgeBase, TownEvaluation, default_kb, evaluate, load
    from .errors import (
        ConditionSyntaxError,
        EnvironmentProblem,
        Location,
        MeasuresFileError,
        NotExpressibleError,
        OntologyError,
        OutputError,
        PolicyKBError,
        Problem,
        ProfileError,
        ProfileIssue,
        ProfileSyntaxError,
        RosterError,
        UnknownNameError,
        YearError,
    )
    from .policy.model import (
        Audience,
        Benefit,
        BenefitKind,
        Measure,
        MeasureKind,
        ParameterValue,
        PolicyModel,
        Status,
        Town,
    )
    from .policy.profile import Profile, read_profile
    from .reason.results import (
        BenefitResult,
        Change,
        EstimateResult,
        IndicatorScore,
        MeasureResult,
        PrecheckResult,
        SourceScore,
    )
    from .text import Msg
    from .version import __version__
finally:
    if _collecting:
        _gc.enable()

__all__ = [
    "Audience",
    "Benefit",
    "BenefitImpact",
    "BenefitKind",
    "BenefitResult",
    "Change",
    "ConditionSyntaxError",
    "EnvironmentProblem",
    "EstimateResult",
    "Evaluation",
    "Impact",
    "IndicatorScore",
    "KnowledgeBase",
    "LintReport",
    "Location",
    "Measure",
    "MeasureKind",
    "MeasureResult",
    "MeasuresFileError",
    "Msg",
    "NotExpressibleError",
    "OntologyError",
    "OutputError",
    "ParameterValue",
    "PolicyKBError",
    "PolicyModel",
    "PoolEntry",
    "PoolList",
    "PrecheckResult",
    "Problem",
    "Profile",
    "ProfileError",
    "ProfileIssue",
    "ProfileSyntaxError",
    "Progress",
    "Readiness",
    "ReadinessCounts",
    "RosterError",
    "RosterRun",
    "RosterSummary",
    "RowError",
    "SourceScore",
    "Status",
    "Town",
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
    from .backends.owl import LintReport
    from .district.cells import RowError
    from .district.readiness import Counts as ReadinessCounts
    from .district.readiness import Readiness
    from .district.reports import (
        BenefitImpact,
        Impact,
        PoolEntry,
        PoolList,
        Progress,
        TownProgress,
    )
    from .district.roster import RosterRun, RosterSummary

# Roster and district results load numpy, polars and pyarrow: imported on first use only.
_LAZY = {
    "RosterRun": ".district.roster",
    "RosterSummary": ".district.roster",
    "RowError": ".district.cells",
    "Progress": ".district.reports",
    "TownProgress": ".district.reports",
    "PoolEntry": ".district.reports",
    "PoolList": ".district.reports",
    "Impact": ".district.reports",
    "BenefitImpact": ".district.reports",
    "Readiness": ".district.readiness",
    "ReadinessCounts": ".district.readiness:Counts",
    "LintReport": ".backends.owl",  # the reasoner's report: owlready2 on first use
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        where, _, attr = _LAZY[name].partition(":")
        return getattr(import_module(where, __name__), attr or name)
    raise AttributeError(f"module 'policy_kb' has no attribute '{name}'")
