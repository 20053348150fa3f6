"""Write a realistic example roster: 2,000 enterprises across the 11 towns of 附件2.

    python examples/roster/generate.py [--rows 2000] [--seed 2021] [-o examples/roster/roster.csv]

The distributions are plausible for a district of manufacturing and technology SMEs: more
enterprises where the 2021 targets are higher; headcounts log-normal around 45; revenue per head
around 0.8 million yuan; R&D intensity around 3.5 % with one firm in six doing none; a fifth of the
firms are HNTEs; registrations somewhat behind the targets. About 20 % of the facts are left empty
(unknown), as in a real survey. The same seed always gives the same file.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOWNS = {  # name → share of the district's tech enterprises (roughly in line with the targets)
    "高新区": 0.27,
    "西太湖": 0.14,
    "湖塘镇": 0.09,
    "牛塘镇": 0.07,
    "洛阳镇": 0.07,
    "雪堰镇": 0.06,
    "前黄镇": 0.08,
    "礼嘉镇": 0.08,
    "嘉泽镇": 0.015,
    "湟里镇": 0.08,
    "绿建区": 0.02,
}
BRANDS = list("恒瑞信达华泰鼎盛新宏博远金科天成智安润隆昌佳和兴力创联捷中正德")
TRADES = [
    "精密机械",
    "智能装备",
    "新材料",
    "电子科技",
    "传感技术",
    "汽车零部件",
    "环保科技",
    "生物医药",
    "软件技术",
    "光电科技",
    "模具",
    "电气",
    "自动化",
    "新能源",
    "检测技术",
    "包装材料",
]
FORMS = ["有限公司", "有限公司", "有限公司", "股份有限公司"]
COLUMNS = [
    "name",
    "year",
    "town",
    "registered_in_mainland",
    "employees",
    "tech_staff",
    "annual_revenue",
    "total_assets",
    "total_costs",
    "taxable_income",
    "first_time_above_scale",
    "local_contribution",
    "local_contribution_prior_year",
    "rd_expense",
    "rd_expense_prior_year",
    "rd_deduction_claimed",
    "rd_deduction_claimed_prior_year",
    "ip_class1",
    "ip_class2",
    "tech_transfer_income",
    "restricted_industry",
    "serious_violation",
    "hnte_valid",
    "hnte_cultivation_pool",
    "hnte_applicant",
    "cultivation_pool_applicant",
    "talent_program",
    "incubated",
    "tech_sme_registered",
    "national_award_top3",
    "provincial_rd_institution",
    "led_standard",
]
ALWAYS = {"name", "year", "town"}


def enterprise(rng: random.Random, names: set[str]) -> dict[str, object]:
    town = rng.choices(list(TOWNS), weights=list(TOWNS.values()))[0]
    while True:
        name = "常州" + "".join(rng.sample(BRANDS, 2)) + rng.choice(TRADES) + rng.choice(FORMS)
        if name not in names:
            names.add(name)
            break
    employees = max(3, int(rng.lognormvariate(math.log(45), 0.9)))
    incubated = employees < 40 and rng.random() < 0.18
    revenue = round(employees * rng.lognormvariate(math.log(800_000), 0.5), -3)
    assets = round(revenue * rng.uniform(0.5, 1.3), -3)
    costs = round(revenue * rng.uniform(0.82, 1.02), -3)
    margin = rng.gauss(0.05, 0.06)
    taxable = round(revenue * margin, -2)
    tech_share = min(0.9, max(0.0, rng.betavariate(2.2, 9)))
    tech_staff = round(employees * tech_share)
    rd_ratio = 0.0 if rng.random() < 0.16 else rng.lognormvariate(math.log(0.035), 0.55)
    rd = round(revenue * min(rd_ratio, 0.4), -2)
    growth = rng.gauss(0.12, 0.2)
    rd_prior = round(rd / (1 + growth), -2) if rd and growth > -0.9 else 0
    hnte = rng.random() < (0.28 if employees > 30 else 0.08)
    profile: dict[str, object] = {
        "name": name,
        "year": 2021,
        "town": town,
        "registered_in_mainland": rng.random() < 0.99,
        "employees": employees,
        "tech_staff": tech_staff,
        "annual_revenue": int(revenue),
        "total_assets": int(assets),
        "total_costs": int(costs),
        "taxable_income": int(taxable),
        "first_time_above_scale": revenue >= 20_000_000 and rng.random() < 0.12,
        "local_contribution": int(round(revenue * rng.uniform(0.02, 0.05), -2)),
        "rd_expense": int(rd),
        "rd_expense_prior_year": int(rd_prior),
        "rd_deduction_claimed": rd > 0 and rng.random() < 0.85,
        "rd_deduction_claimed_prior_year": rd_prior > 0 and rng.random() < 0.8,
        "ip_class1": _poisson(rng, 1.2 if hnte else 0.4),
        "ip_class2": _poisson(rng, 4.5 if hnte else 2.2),
        "tech_transfer_income": int(round(revenue * rng.uniform(0.01, 0.2), -3))
        if rng.random() < 0.15
        else 0,
        "restricted_industry": rng.random() < 0.02,
        "serious_violation": rng.random() < 0.015,
        "hnte_valid": hnte,
        "hnte_cultivation_pool": not hnte and rng.random() < 0.12,
        "hnte_applicant": not hnte and rng.random() < 0.08,
        "cultivation_pool_applicant": not hnte and rng.random() < 0.06,
        "talent_program": rng.random() < 0.07,
        "incubated": incubated,
        "national_award_top3": rng.random() < 0.01,
        "provincial_rd_institution": rng.random() < (0.15 if hnte else 0.03),
        "led_standard": rng.random() < (0.1 if hnte else 0.02),
    }
    profile["local_contribution_prior_year"] = int(
        round(int(profile["local_contribution"]) / rng.uniform(0.9, 1.25), -2)
    )
    strong = hnte or (tech_share >= 0.1 and rd_ratio >= 0.03)
    profile["tech_sme_registered"] = strong and rng.random() < 0.55
    return profile


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("-o", "--output", default=str(HERE / "roster.csv"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names: set[str] = set()
    with open(args.output, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for _ in range(args.rows):
            profile = enterprise(rng, names)
            row = []
            for column in COLUMNS:
                value = profile[column]
                if column not in ALWAYS and rng.random() < 0.2:
                    row.append("")
                elif isinstance(value, bool):
                    row.append("true" if value else "false")
                else:
                    row.append(str(value))
            writer.writerow(row)
    print(f"wrote {args.rows} enterprises to {args.output}")


if __name__ == "__main__":
    main()
