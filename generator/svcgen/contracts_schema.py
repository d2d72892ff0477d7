"""Comparing two JSON Schemas of one message: what a change breaks, and what it does not.

A message has a writer and a reader. Every value the writer may send must be one the
reader accepts: the writer's schema must be a subset of the reader's. Which side is
which depends on the service's role:

- ``read`` (a consumer): the new model reads what writers elsewhere, built against the
  old contract, still send. Writer = old schema, reader = new (backward compatible).
- ``written`` (a publisher): readers elsewhere, built against the old contract, read
  what the new model sends. Writer = new schema, reader = old (forward compatible).
  A publisher serializes with ``model_dump_json()``, which sends every field, so every
  field of the old model counts as one readers may require.

The walk covers what pydantic v2 emits: ``$ref``/``$defs`` (recursive models too),
``anyOf``/``oneOf`` (unions, ``Optional``, discriminated unions), ``type`` (``integer``
within ``number``), ``enum``/``const``, ``format``, ``pattern``, string and array
lengths, numeric bounds (exclusive ones on integers made inclusive) and
``multipleOf``, ``items``/``prefixItems``/``uniqueItems``, ``properties``/
``required``/``additionalProperties`` (``false`` for ``extra="forbid"``, a schema for
``dict[str, X]``). Patterns are compared as text (a changed pattern is breaking when
the reader has one); ``allOf`` beyond a single wrapped ``$ref``, ``not``, ``if``/
``then``, ``patternProperties`` and ``default`` values are not analysed. Writers are
taken to send only the fields their schema declares, so a new optional field is safe.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from .contracts_shapes import (
    BOUNDS,
    bound,
    bound_within,
    branches,
    describe,
    enum_values,
    json_types,
    listed,
    multiple,
    overlap,
    resolve,
    shown,
    shown_text,
    within,
)

Role = Literal["read", "written"]


@dataclass(frozen=True)
class Finding:
    """One difference: breaking or not, where it is on the new side, and what it is."""

    breaking: bool
    model: str
    """The ``$defs`` name of the new side's model holding it; ``""``: the message's own."""
    field: str | None
    """The property of that model it is about, when the new side has it."""
    text: str


@dataclass(frozen=True)
class _At:
    path: str
    model: str = ""
    field: str | None = None

    def child(self, suffix: str, field: str | None = None) -> _At:
        sep = "." if self.path and not suffix.startswith(("[", "{")) else ""
        return _At(f"{self.path}{sep}{suffix}", self.model, field or self.field)

    @property
    def subject(self) -> str:
        return f'field "{self.path}"' if self.path else "the message"


def compare(old: dict[str, Any], new: dict[str, Any], role: Role) -> list[Finding]:
    """Every difference between the ``old`` and ``new`` schema of a message the
    service reads or writes, breaking ones marked."""
    return _Walk(old, new, role).sub(*_pair(old, new, role), _At(""))


def _pair(old: Any, new: Any, role: Role) -> tuple[Any, Any]:
    """(writer, reader)."""
    return (old, new) if role == "read" else (new, old)


class _Walk:
    def __init__(self, old: dict[str, Any], new: dict[str, Any], role: Role) -> None:
        self.role = role
        self.w_root, self.r_root = _pair(old, new, role)
        self._open: set[tuple[str, str]] = set()

    # -- helpers ------------------------------------------------------------------

    def _new_side(self, w: str | None, r: str | None) -> str | None:
        return r if self.role == "read" else w

    def _old_new(self, w: Any, r: Any) -> tuple[Any, Any]:
        """The writer's and the reader's value as (old, new)."""
        return (w, r) if self.role == "read" else (r, w)

    def _found(self, breaking: bool, at: _At, text: str) -> Finding:
        return Finding(breaking, at.model, at.field, f"{at.subject} {text}")

    def _by_role(self, at: _At, read: str, written: str, *, breaking: bool) -> Finding:
        return self._found(breaking, at, read if self.role == "read" else written)

    # -- the walk -----------------------------------------------------------------

    def sub(self, w: Any, r: Any, at: _At) -> list[Finding]:
        """Findings for writer schema ``w`` against reader schema ``r``."""
        w, w_def = resolve(w, self.w_root)
        r, r_def = resolve(r, self.r_root)
        new_def = self._new_side(w_def, r_def)
        if new_def is not None:
            at = replace(at, model=new_def, field=None)
        key = (w_def or str(id(w)), r_def or str(id(r)))
        if key in self._open:
            return []  # a recursive model, compared once
        self._open.add(key)
        try:
            wb, rb = branches(w), branches(r)
            if len(wb) > 1 or len(rb) > 1:
                return self._union(wb, rb, at)
            return self._single(w, r, at)
        finally:
            self._open.discard(key)

    def _union(self, wb: list[Any], rb: list[Any], at: _At) -> list[Finding]:
        found: list[Finding] = []
        matched: set[int] = set()
        for w in wb:
            wr, w_name = resolve(w, self.w_root)
            trials = []
            for i, r in enumerate(rb):
                rr, r_name = resolve(r, self.r_root)
                if not overlap(json_types(wr), json_types(rr)):
                    continue
                result = self.sub(w, r, at)
                other = w_name is None or w_name != r_name
                trials.append((other, sum(f.breaking for f in result), i, result))
            best = min(trials, key=lambda t: t[:3]) if trials else None
            if best is None or (best[0] and best[1] and w_name is not None):
                # no branch takes it: another model (a union member) or type
                found.append(
                    self._by_role(
                        at,
                        f"no longer accepts {describe(wr)}; writers of the old "
                        "contract may send it",
                        f"may now be {describe(wr)}, which readers of the old "
                        "contract do not accept",
                        breaking=True,
                    )
                )
                continue
            matched.add(best[2])
            found.extend(best[3])
        for i, r in enumerate(rb):
            if i not in matched:
                rr = resolve(r, self.r_root)[0]
                found.append(
                    self._by_role(
                        at,
                        f"now also accepts {describe(rr)}",
                        f"is no longer sent as {describe(rr)}",
                        breaking=False,
                    )
                )
        return found

    def _single(self, w: dict[str, Any], r: dict[str, Any], at: _At) -> list[Finding]:
        wt, rt = json_types(w), json_types(r)
        if rt is not None and (wt is None or not within(wt, rt)):
            old, new = self._old_new(describe(w), describe(r))
            return [
                self._by_role(
                    at,
                    f"is now {new} (was {old}); writers of the old contract may still "
                    f"send {old}",
                    f"is now {new} (was {old}); readers of the old contract accept "
                    f"only {old}",
                    breaking=True,
                )
            ]
        found: list[Finding] = []
        if wt is not None and (rt is None or not within(rt, wt)):
            old, new = self._old_new(describe(w), describe(r))
            verb = "widened" if self.role == "read" else "narrowed"
            found.append(self._found(False, at, f"{verb} from {old} to {new}"))
        found += self._values(w, r, at)
        found += self._constraints(w, r, wt or set(), at)
        types = (wt or set()) | (rt or set())
        if "array" in types:
            found += self._array(w, r, at)
        if "object" in types:
            found += self._object(w, r, at)
        return found

    def _values(self, w: dict[str, Any], r: dict[str, Any], at: _At) -> list[Finding]:
        wv, rv = enum_values(w), enum_values(r)
        if rv is None and wv is None:
            return []
        if rv is None:
            return [
                self._by_role(
                    at,
                    f"now accepts any value (was {listed(wv)})",
                    f"is now restricted to {listed(wv)}",
                    breaking=False,
                )
            ]
        if wv is None:
            return [
                self._by_role(
                    at,
                    f"now accepts only {listed(rv)}; writers of the old contract may "
                    "send other values",
                    f"is no longer restricted to {listed(rv)}, which readers of the "
                    "old contract expect",
                    breaking=True,
                )
            ]
        found = []
        missing = [v for v in wv if v not in rv]
        extra = [v for v in rv if v not in wv]
        if missing:
            found.append(
                self._by_role(
                    at,
                    f"no longer accepts {listed(missing)}; writers of the old "
                    "contract may send it",
                    f"may now be {listed(missing)}, which readers of the old "
                    "contract do not accept",
                    breaking=True,
                )
            )
        if extra:
            found.append(
                self._by_role(
                    at,
                    f"now also accepts {listed(extra)}",
                    f"is no longer sent as {listed(extra)}",
                    breaking=False,
                )
            )
        return found

    def _constraints(
        self, w: dict[str, Any], r: dict[str, Any], types: set[str], at: _At
    ) -> list[Finding]:
        found = []
        integer = types == {"integer"}
        for key, (label, side) in BOUNDS.items():
            wb, rb = bound(w, key, integer), bound(r, key, integer)
            if wb == rb:
                continue
            tighter = bound_within(wb, rb, side)  # the writer's is within the reader's
            old, new = self._old_new(shown(wb), shown(rb))
            change = f"{label} is now {new} (was {old})"
            found.append(
                self._by_role(
                    at,
                    change
                    + (
                        ""
                        if tighter
                        else "; writers of the old contract may send values outside it"
                    ),
                    change
                    + (
                        ""
                        if tighter
                        else "; readers of the old contract may reject "
                        "values outside the old one"
                    ),
                    breaking=not tighter,
                )
            )
        for key, label in (("format", "format"), ("pattern", "pattern")):
            wv, rv = w.get(key), r.get(key)
            if wv == rv:
                continue
            old, new = self._old_new(wv, rv)
            change = f"{label} is now {shown_text(new)} (was {shown_text(old)})"
            breaking = rv is not None
            found.append(
                self._by_role(
                    at,
                    change
                    + (
                        "; writers of the old contract may send values outside it"
                        if breaking
                        else ""
                    ),
                    change
                    + (
                        "; readers of the old contract may reject what it allows"
                        if breaking
                        else ""
                    ),
                    breaking=breaking,
                )
            )
        wm, rm = w.get("multipleOf"), r.get("multipleOf")
        if wm != rm:
            breaking = rm is not None and (wm is None or not multiple(wm, rm))
            old, new = self._old_new(wm, rm)
            found.append(
                self._found(
                    breaking,
                    at,
                    f"multipleOf is now {shown(new)} (was {shown(old)})"
                    + (
                        "; values the old contract allowed may be rejected"
                        if breaking
                        else ""
                    ),
                )
            )
        return found

    def _array(self, w: dict[str, Any], r: dict[str, Any], at: _At) -> list[Finding]:
        found = []
        wp, rp = w.get("prefixItems", []), r.get("prefixItems", [])
        for i in range(min(len(wp), len(rp))):
            found += self.sub(wp[i], rp[i], at.child(f"[{i}]"))
        if "items" in w or "items" in r:
            found += self.sub(w.get("items", {}), r.get("items", {}), at.child("[]"))
        if r.get("uniqueItems") and not w.get("uniqueItems"):
            found.append(
                self._by_role(
                    at,
                    "now requires unique items; writers of the old contract may "
                    "send repeats",
                    "may now repeat items, which readers of the old contract reject",
                    breaking=True,
                )
            )
        elif w.get("uniqueItems") and not r.get("uniqueItems"):
            found.append(
                self._by_role(
                    at,
                    "no longer requires unique items",
                    "now sends unique items only",
                    breaking=False,
                )
            )
        return found

    def _object(self, w: dict[str, Any], r: dict[str, Any], at: _At) -> list[Finding]:
        found: list[Finding] = []
        wp: dict[str, Any] = w.get("properties", {})
        rp: dict[str, Any] = r.get("properties", {})
        if self.role == "written":  # model_dump_json sends every field
            wreq, rreq = set(wp), set(rp)
        else:
            wreq, rreq = set(w.get("required", ())), set(r.get("required", ()))
        r_extra = r.get("additionalProperties", True)
        new_props = rp if self.role == "read" else wp
        for name, schema in rp.items():
            here = at.child(name, name if name in new_props else None)
            if name not in wp:
                if name in rreq:
                    found.append(
                        self._by_role(
                            here,
                            "is new and required; writers of the old contract do not "
                            "send it",
                            "is no longer sent (removed or renamed); readers of the "
                            "old contract may require it",
                            breaking=True,
                        )
                    )
                else:
                    found.append(self._found(False, here, "is new and optional"))
                continue
            if name in rreq and name not in wreq:
                found.append(
                    self._found(
                        True,
                        here,
                        "is now required; writers of the old contract may omit it",
                    )
                )
            elif name in wreq and name not in rreq:
                found.append(self._found(False, here, "is now optional"))
            found += self.sub(wp[name], schema, here)
        for name, schema in wp.items():
            if name in rp:
                continue
            here = at.child(name, name if name in new_props else None)
            if r_extra is False:
                found.append(
                    self._by_role(
                        here,
                        "was removed and the model forbids unknown fields; writers "
                        "of the old contract still send it",
                        "is new, and readers of the old contract forbid unknown fields",
                        breaking=True,
                    )
                )
            elif isinstance(r_extra, dict):
                found += self.sub(schema, r_extra, here)
            else:
                found.append(
                    self._by_role(
                        here,
                        "was removed (readers ignore unknown fields)",
                        "is new (readers ignore fields they do not know)",
                        breaking=False,
                    )
                )
        w_extra = w.get("additionalProperties", True)
        if isinstance(w_extra, dict) and isinstance(r_extra, dict):
            found += self.sub(w_extra, r_extra, at.child("{}"))
        elif isinstance(w_extra, dict) and r_extra is False:
            found.append(
                self._by_role(
                    at,
                    "no longer accepts extra keys; writers of the old contract may "
                    "send them",
                    "may now carry extra keys, which readers of the old contract "
                    "forbid",
                    breaking=True,
                )
            )
        return found
