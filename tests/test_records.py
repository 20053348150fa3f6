"""The shared eq / hash / repr of the frozen dataclasses behave as the generated ones did."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

import policy_kb
from policy_kb.policy.model import Tier
from policy_kb.records import Valued
from policy_kb.rules.tree import Const, FactRef


@dataclass(frozen=True, slots=True)
class _Generated:
    a: int
    b: str
    c: tuple[int, ...] = ()
    hidden: int = field(default=0, repr=False, compare=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Shared(Valued):
    a: int
    b: str
    c: tuple[int, ...] = ()
    hidden: int = field(default=0, repr=False, compare=False)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((1, "x", (2,), 0), (1, "x", (2,), 9)),
        ((1, "x"), (2, "x")),
        ((1, "x", (2,)), (1, "x", (3,))),
    ],
)
def test_the_shared_methods_give_what_dataclass_generates(left, right):
    g1, g2 = _Generated(*left), _Generated(*right)
    s1, s2 = _Shared(*left), _Shared(*right)
    assert repr(s1) == repr(g1).replace("_Generated", "_Shared")
    assert (s1 == s2) is (g1 == g2)
    assert (s1 != s2) is (g1 != g2)
    assert (hash(s1) == hash(s2)) is (hash(g1) == hash(g2))
    assert hash(s1) == hash(g1)  # the same tuple of compared fields is hashed
    assert s1.__eq__(g1) is NotImplemented
    assert s1 != g1


def test_model_records_are_values_and_tree_nodes_are_identities():
    assert Tier(2, 10) == Tier(2, 10)
    assert Tier(2, 10) != Tier(3, 10)
    assert {Tier(2, 10), Tier(2, 10)} == {Tier(2, 10)}
    assert repr(Tier(2, 10)) == "Tier(at_least=2, points=10)"
    node = FactRef("employees")
    assert repr(node) == "FactRef(name='employees')"
    assert repr(Const(0)) == "Const(literal=0)"
    assert node != FactRef("employees")  # a node is itself: the visitors memoise by identity
    kb = policy_kb.load()
    assert (
        kb.model.benefits["KM7.rd_super_deduction"] == kb.model.benefits["KM7.rd_super_deduction"]
    )
    assert kb.model.benefits["KM7.rd_super_deduction"] != kb.model.benefits["KM5.hnte_income_tax"]
