"""The schema rules of ``contracts_schema`` on shapes the golden cases do not spell
out: each model pair is compared as pydantic v2 describes it, in both directions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from svcgen.contracts_git import service_at
from svcgen.contracts_schema import Role, compare
from svcgen.errors import ProjectError


def _found(old: type[BaseModel], new: type[BaseModel], role: Role) -> list[str]:
    mode: Any = "validation" if role == "read" else "serialization"
    findings = compare(
        old.model_json_schema(mode=mode), new.model_json_schema(mode=mode), role
    )
    return [("breaking: " if f.breaking else "change: ") + f.text for f in findings]


class GtZero(BaseModel):
    n: int = Field(gt=0)


class GeOne(BaseModel):
    n: int = Field(ge=1)


@pytest.mark.parametrize("role", ["read", "written"])
def test_an_exclusive_integer_bound_equals_the_inclusive_one(role: Role) -> None:
    assert _found(GtZero, GeOne, role) == []
    assert _found(GeOne, GtZero, role) == []


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"


class Bird(BaseModel):
    kind: Literal["bird"] = "bird"


class TwoPets(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]


class ThreePets(BaseModel):
    pet: Annotated[Cat | Dog | Bird, Field(discriminator="kind")]


def test_a_discriminated_union_gaining_a_member() -> None:
    assert _found(TwoPets, ThreePets, "read") == [
        'change: field "pet" now also accepts object Bird'
    ]
    assert _found(TwoPets, ThreePets, "written") == [
        'breaking: field "pet" may now be object Bird, which readers of the old '
        "contract do not accept"
    ]
    assert _found(ThreePets, TwoPets, "read") == [
        'breaking: field "pet" no longer accepts object Bird; writers of the old '
        "contract may send it"
    ]


class Pair(BaseModel):
    at: tuple[int, str]


class LoosePair(BaseModel):
    at: tuple[float, str]


def test_tuple_items_are_compared_by_position() -> None:
    assert _found(LoosePair, Pair, "read") == [
        'breaking: field "at[0]" is now integer (was number); writers of the old '
        "contract may still send number"
    ]
    assert _found(Pair, LoosePair, "read") == [
        'change: field "at[0]" widened from integer to number'
    ]


class Stamp(BaseModel):
    at: str


class DateStamp(BaseModel):
    at: str = Field(json_schema_extra={"format": "date"})


class Cents(BaseModel):
    amount: float = Field(multiple_of=0.01)


class Dimes(BaseModel):
    amount: float = Field(multiple_of=0.1)


def test_format_and_multiple_of() -> None:
    assert _found(Stamp, DateStamp, "read") == [
        'breaking: field "at" format is now "date" (was none); writers of the old '
        "contract may send values outside it"
    ]
    assert _found(DateStamp, Stamp, "read") == [
        'change: field "at" format is now none (was "date")'
    ]
    assert _found(Cents, Dimes, "read")[0].startswith("breaking: ")
    assert _found(Dimes, Cents, "read")[0].startswith("change: ")
    assert _found(Cents, Dimes, "written")[0].startswith("change: ")


class AnyValue(BaseModel):
    v: Any


class IntValue(BaseModel):
    v: int


def test_any_value_narrowed_or_widened() -> None:
    assert _found(AnyValue, IntValue, "read") == [
        'breaking: field "v" is now integer (was any value); writers of the old '
        "contract may still send any value"
    ]
    assert _found(IntValue, AnyValue, "read") == [
        'change: field "v" widened from integer to any value'
    ]
    assert _found(AnyValue, IntValue, "written") == [
        'change: field "v" narrowed from any value to integer'
    ]
    assert _found(IntValue, AnyValue, "written")[0].startswith("breaking: ")


@pytest.mark.parametrize(
    "ref", ["--output=/tmp/svcgen-evil", "-p", "", "HEAD\nx", "main x", "HEAD\x00"]
)
def test_an_unsafe_ref_never_reaches_git(
    ref: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"git was run: {args}")

    monkeypatch.setattr("svcgen.contracts_git.subprocess.run", refuse)
    with pytest.raises(ProjectError, match="is not a git revision"):
        service_at(tmp_path, ref, tmp_path / "into")
