"""Use policy_kb from Python: evaluate a profile, read the reasons, ask about a town.

python examples/use_library.py
"""

from __future__ import annotations

from pathlib import Path

import policy_kb

HERE = Path(__file__).resolve().parent


def main() -> None:
    kb = (
        policy_kb.load()
    )  # the shipped measures.yaml; policy_kb.load("my-measures.yaml") for an edited copy

    # A profile is a mapping of fact ids to values; a fact left out is unknown.
    result = kb.evaluate(
        {
            "name": "示例科技有限公司",
            "town": "湟里镇",
            "employees": 85,
            "annual_revenue": 32_000_000,
            "total_assets": 26_000_000,
            "tech_sme_registered": True,
            "rd_expense": 2_100_000,
            "rd_expense_prior_year": 1_950_000,
            "rd_deduction_claimed": True,
            "rd_deduction_claimed_prior_year": True,
        }
    )

    print(f"{result.profile.name} — {result.year}")
    for benefit in result.benefits:
        print(f"  {benefit.status.value:<15} {benefit.id}")
        if benefit.missing:
            print(f"  {'':<15} missing: {', '.join(benefit.missing)}")

    # Why does the growth reward not apply? One record per condition.
    growth = result.to_dict(lang="en")["measures"][6]["benefits"][1]
    print("\n" + growth["summary"])
    for reason in growth["reasons"]:
        print(
            f"  {reason['outcome']:<7} {reason['condition']}  (measures.yaml line {reason['source']['line']})"
        )
    print(f"  source {growth['citation']['number']}: {growth['citation']['text']}")

    # A profile file, as the command line reads it.
    startup = kb.evaluate(policy_kb.read_profile(str(HERE / "incubated_startup.yaml")))
    print("\nincubated start-up applies for:", ", ".join(b.id for b in startup.applicable()))

    # Towns and their 附件2 targets.
    town = kb.town("湟里镇")
    print(f"\n{town.town.name}: target {town.target}, SM2 {town.status('SM2').value}")

    # Bad input is refused with a message that names the fact.
    try:
        kb.evaluate({"employees": -3})
    except policy_kb.ProfileError as error:
        print("\nrefused:", error)


if __name__ == "__main__":
    main()
