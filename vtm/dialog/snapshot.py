"""A :class:`~vtm.dialog.session.Session` as JSON, so another process can carry the session on.

The kiosk service saves a snapshot after every turn; a restarted service, or another replica,
rebuilds the session from it and the customer goes on where they were. Every field of the session
is kept. A running transaction (and each interrupted one on the stack) is kept as its definition's
name, its state, its slots and its facts, and rebuilt on the ``transitions`` machine at that state.

Values that JSON cannot hold are tagged so they come back as the same type::

    {"$t": "decimal", "v": "500.00"}          {"$t": "datetime", "v": "2026-11-23T10:00:00+08:00"}
    {"$t": "tuple", "v": [...]}               {"$t": "enum", "type": "vtm.banking.models.Arrival", "v": "realtime"}
    {"$t": "model", "type": "vtm.banking.models.TransferResult", "v": {...}}

Only the types in the allow-list below are written or read: a type name in a snapshot is looked
up there, never imported, so a database row cannot make the kiosk load code. Any other type is a
:class:`SnapshotError` naming where it was (a new fact type must be added here, and the round-trip
tests over the conversation scripts find it).

A PIN is never written. A :class:`~vtm.common.secret.Secret` held in a mapping (a PIN-pad slot)
is left out, and the flow notes which slots it left out. On restore a flow already past the state
that collects such a slot goes back to that state (the PIN change needs the current PIN again at
its last step): its checkpoint and every step after it run again. The caller then asks the
customer again (:func:`pins_to_ask_again`; the kiosk service plays ``DialogManager.resume``), so the
customer is never left typing a PIN the kiosk takes for another one. A Secret anywhere else than
in a mapping is an error, as it cannot be left out without changing the shape of the data.

Usage::

    data = to_snapshot(dm.session)                       # JSON-ready dict
    session = from_snapshot(data, services.definitions, all_guards())
    dm = DialogManager(services, session)
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from vtm.banking import models as banking_models
from vtm.common.secret import Secret
from vtm.compliance import context as compliance_context
from vtm.dialog import session as dialog_session
from vtm.dialog.session import Pending, Session
from vtm.flows.definition import TransactionDefinition
from vtm.flows.machine import Flow, FlowError, Guard

__all__ = ["FORMAT", "SnapshotError", "from_snapshot", "pins_to_ask_again", "to_snapshot"]

FORMAT: Final = 1
"""Snapshot format version; a snapshot of another version is refused, never half-read."""

_TAG: Final = "$t"
# The allow-list: the enums and pydantic models defined in these modules, and these dataclasses.
_TYPE_MODULES: Final = (banking_models, compliance_context, dialog_session)
_DATACLASSES: Final[tuple[type, ...]] = (Pending,)


class SnapshotError(Exception):
    """A session holds a value a snapshot cannot carry, or a snapshot cannot be read back.

    Not retry-safe: the same session or data fails the same way (fix the allow-list or the data).
    """

    retry_safe = False


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.cache
def _allowed_types() -> dict[str, type]:
    """Enums and pydantic models defined in :data:`_TYPE_MODULES`, and :data:`_DATACLASSES`, by name."""
    found: dict[str, type] = {_name(cls): cls for cls in _DATACLASSES}
    for module in _TYPE_MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ \
                    and issubclass(value, enum.Enum | BaseModel):
                found[_name(value)] = value
    return found


class _Encoder:
    def __init__(self, types: Mapping[str, type]) -> None:
        self._types = types

    def __call__(self, value: Any, path: str) -> Any:
        if value is None or type(value) in (bool, int, float, str):  # exact: a subclass keeps its tag
            return value
        if isinstance(value, enum.Enum):
            return {_TAG: "enum", "type": self._known(value, path), "v": value.value}
        if isinstance(value, Decimal):
            return {_TAG: "decimal", "v": str(value)}
        if isinstance(value, datetime):  # before date: a datetime is a date
            return {_TAG: "datetime", "v": value.isoformat()}
        if isinstance(value, date):
            return {_TAG: "date", "v": value.isoformat()}
        if isinstance(value, timedelta):
            return {_TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
        if isinstance(value, list):
            return [self(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {_TAG: "tuple", "v": [self(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, set | frozenset):
            items = sorted((self(v, f"{path}{{}}") for v in value), key=lambda e: json.dumps(e, sort_keys=True))
            return {_TAG: "frozenset" if isinstance(value, frozenset) else "set", "v": items}
        if isinstance(value, dict):
            return self._mapping(value, path)
        if isinstance(value, Flow):
            return {_TAG: "flow", "v": {"definition": value.name, "state": value.state,
                                        "slots": self._mapping(value.slots, f"{path}.slots"),
                                        "facts": self._mapping(value.facts, f"{path}.facts"),
                                        "pins_left_out": sorted(k for k, v in value.slots.items()
                                                                if isinstance(v, Secret))}}
        if isinstance(value, BaseModel):
            fields = {name: getattr(value, name) for name in type(value).model_fields}
            return {_TAG: "model", "type": self._known(value, path), "v": self._mapping(fields, path)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return {_TAG: "dataclass", "type": self._known(value, path), "v": self._mapping(fields, path)}
        if isinstance(value, Secret):
            raise SnapshotError(f"{path}: a PIN outside a mapping cannot be left out of a snapshot")
        raise SnapshotError(f"{path}: a {_name(type(value))} cannot be put in a snapshot "
                            "(add its type to vtm.dialog.snapshot if a session must hold it)")

    def _mapping(self, value: Mapping[Any, Any], path: str) -> Any:
        kept = {k: v for k, v in value.items() if not isinstance(v, Secret)}  # a PIN is never written
        if all(type(k) is str and not k.startswith("$") for k in kept):
            return {k: self(v, f"{path}.{k}") for k, v in kept.items()}
        return {_TAG: "map", "v": [[self(k, f"{path}<key>"), self(v, f"{path}[{k!r}]")] for k, v in kept.items()]}

    def _known(self, value: object, path: str) -> str:
        name = _name(type(value))
        if self._types.get(name) is not type(value):
            raise SnapshotError(f"{path}: a {name} cannot be put in a snapshot (not in its allow-list)")
        return name


class _Decoder:
    def __init__(self, types: Mapping[str, type], definitions: Mapping[str, TransactionDefinition],
                 guards: Mapping[str, Guard]) -> None:
        self._types, self._definitions, self._guards = types, definitions, guards
        self._tags: dict[str, Callable[[dict[str, Any], str], Any]] = {
            "decimal": lambda d, _: Decimal(d["v"]),
            "datetime": lambda d, _: datetime.fromisoformat(d["v"]),
            "date": lambda d, _: date.fromisoformat(d["v"]),
            "timedelta": lambda d, _: timedelta(*d["v"]),
            "tuple": lambda d, p: tuple(self(v, p) for v in d["v"]),
            "set": lambda d, p: {self(v, p) for v in d["v"]},
            "frozenset": lambda d, p: frozenset(self(v, p) for v in d["v"]),
            "map": lambda d, p: {self(k, p): self(v, p) for k, v in d["v"]},
            "enum": lambda d, p: self._type(d, p)(d["v"]),
            "model": lambda d, p: self._model(d, p),
            "dataclass": lambda d, p: self._type(d, p)(**self(d["v"], p)),
            "flow": lambda d, p: self._flow(d["v"], p),
        }

    def __call__(self, value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [self(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if _TAG not in value:
            return {k: self(v, f"{path}.{k}") for k, v in value.items()}
        read = self._tags.get(value[_TAG])
        if read is None:
            raise SnapshotError(f"{path}: unknown tag {value[_TAG]!r}")
        try:
            return read(value, path)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:  # malformed data, said where
            raise SnapshotError(f"{path}: cannot read {value[_TAG]!r}: {exc}") from exc

    def _type(self, data: dict[str, Any], path: str) -> Any:
        cls = self._types.get(data["type"])
        if cls is None:
            raise SnapshotError(f"{path}: type {data['type']!r} is not in the snapshot allow-list")
        return cls

    def _model(self, data: dict[str, Any], path: str) -> BaseModel:
        cls = self._type(data, path)
        try:
            model: BaseModel = cls.model_validate(self(data["v"], path))
        except ValidationError as exc:
            raise SnapshotError(f"{path}: {data['type']}: {exc}") from exc
        return model

    def _flow(self, data: dict[str, Any], path: str) -> Flow:
        definition = self._definitions.get(data["definition"])
        if definition is None:
            raise SnapshotError(f"{path}: no transaction {data['definition']!r} is loaded")
        if data["state"] not in {s.name for s in definition.states}:
            raise SnapshotError(f"{path}: {definition.name} has no state {data['state']!r}")
        try:
            flow = Flow.restored(definition, data["state"], self(data["slots"], f"{path}.slots"),
                                 self(data["facts"], f"{path}.facts"), self._guards)
        except (FlowError, KeyError) as exc:
            raise SnapshotError(f"{path}: {exc}") from exc
        _back_to_the_pins(flow, set(data.get("pins_left_out", ())))
        return flow


def _back_to_the_pins(flow: Flow, left_out: set[str]) -> None:
    """Put a flow that is past the state collecting a PIN it no longer holds back at that state."""
    if not left_out or flow.finished or left_out <= set(flow.spec.slots):
        return
    first = next((s.name for s in flow.definition.states if left_out & set(s.slots)), None)
    if first is not None:
        flow.place_at(first)


def to_snapshot(session: Session) -> dict[str, Any]:
    """The session as a JSON-ready dict (``json.dumps`` takes it as is); raises :class:`SnapshotError`."""
    encode = _Encoder(_allowed_types())
    fields = {f.name: encode(getattr(session, f.name), f.name) for f in dataclasses.fields(Session)}
    return {"format": FORMAT, "session": fields}


def from_snapshot(data: Mapping[str, Any], definitions: Mapping[str, TransactionDefinition],
                  guards: Mapping[str, Guard]) -> Session:
    """The :class:`~vtm.dialog.session.Session` of ``data``, flows rebuilt on ``definitions`` with
    ``guards`` (:func:`vtm.dialog.plugins.all_guards`); raises :class:`SnapshotError`."""
    if data.get("format") != FORMAT or not isinstance(data.get("session"), dict):
        raise SnapshotError(f"not a session snapshot of format {FORMAT} (format {data.get('format')!r})")
    decode = _Decoder(_allowed_types(), definitions, guards)
    fields = data["session"]
    known = {f.name for f in dataclasses.fields(Session)}
    unknown = set(fields) - known
    if unknown:
        raise SnapshotError(f"unknown session fields {sorted(unknown)}")
    try:
        return Session(**{name: decode(value, name) for name, value in fields.items()})
    except TypeError as exc:  # a required field is missing
        raise SnapshotError(f"incomplete session snapshot: {exc}") from exc


def pins_to_ask_again(data: Mapping[str, Any]) -> list[str]:
    """The running flow's PIN slots this snapshot left out: the restored dialog must ask for them
    again before the customer types anything (their screen still shows the question before)."""
    flow = data.get("session", {}).get("flow")
    return list(flow["v"].get("pins_left_out", ())) if isinstance(flow, dict) else []
