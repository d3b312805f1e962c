"""Events to JSON-able records and back, with upcasting of old shapes.

A record is ``(type_name, meta)``: ``meta`` holds every field of the event
(dates and datetimes as ISO strings, tuples as lists, enumerations as their
values) plus ``schema_version``. Old records are upcast when read, never
rewritten: register ``(type_name, old_version) -> function`` in
:data:`UPCASTERS` and each function lifts a record by one version.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from caseflow.domain.dates import require_aware
from caseflow.domain.errors import EventDecodeError
from caseflow.domain.events import EVENT_TYPES, Event

JSONValue = str | int | bool | None | list[Any] | dict[str, Any]
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

VERSION_KEY = "schema_version"
#: Keys the service adds beside an event's fields, about how its sealed body
#: was stored (``epoch``: the content-key epoch that sealed it, see
#: identity/case_epochs.py); the domain never reads them.
ENVELOPE_KEYS = ("epoch",)


def _assessed_v1_to_v2(record: dict[str, Any]) -> dict[str, Any]:
    # Before issue 13 a rejection sent the reporter no reason of its own.
    return {**record, "message_id": ""}


#: ``(type_name, version) -> lift to version + 1``.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("CaseAssessed", 1): _assessed_v1_to_v2,
}


_FIELD_TYPES: dict[str, dict[str, Any]] = {}


def _field_types(cls: type[Event]) -> dict[str, Any]:
    """The resolved type of every field of ``cls`` (resolved once: annotations are strings)."""
    found = _FIELD_TYPES.get(cls.__name__)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {field.name: hints[field.name] for field in dataclasses.fields(cls)}
        _FIELD_TYPES[cls.__name__] = found
    return found


def to_record(event: Event) -> tuple[str, dict[str, Any]]:
    """The stored form of ``event``: its type name and a JSON-able dict."""
    cls = type(event)
    meta: dict[str, Any] = {VERSION_KEY: cls.schema_version}
    for name in _field_types(cls):
        meta[name] = _encode(getattr(event, name), f"{cls.__name__}.{name}")
    return cls.__name__, meta


def from_record(
    type_name: str,
    meta: Mapping[str, Any],
    upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
) -> Event:
    """Rebuild an event from its record, upcasting it first if it is older than the class."""
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise EventDecodeError(type_name, "unknown event type")
    lifts = UPCASTERS if upcasters is None else upcasters
    record = dict(meta)
    version = record.pop(VERSION_KEY, None)
    for key in ENVELOPE_KEYS:
        record.pop(key, None)
    if not isinstance(version, int) or isinstance(version, bool):
        raise EventDecodeError(type_name, f"{VERSION_KEY} missing or not an integer")
    if version > cls.schema_version:
        raise EventDecodeError(
            type_name, f"version {version} is newer than this code ({cls.schema_version})"
        )
    while version < cls.schema_version:
        lift = lifts.get((type_name, version))
        if lift is None:
            raise EventDecodeError(type_name, f"no upcaster from version {version}")
        record = lift(record)
        version += 1
    decoders = _decoders(cls)
    if record.keys() != decoders.keys():
        missing = sorted(set(decoders) - set(record))
        unknown = sorted(set(record) - set(decoders))
        raise EventDecodeError(type_name, f"missing fields {missing}, unknown fields {unknown}")
    return cls(**{name: decode(record[name]) for name, decode in decoders.items()})


def _encode(value: object, where: str) -> JSONValue:
    # datetime before date: a datetime is a date too.
    if isinstance(value, datetime):
        return require_aware(value, where).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        encoded: JSONValue = value.value
        return encoded
    if isinstance(value, tuple):
        return [_encode(item, where) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"{where}: cannot encode {type(value).__name__}")


Decoder = Callable[[object], object]

_DECODERS: dict[str, dict[str, Decoder]] = {}


def _decoders(cls: type[Event]) -> dict[str, Decoder]:
    """One checking decoder per field of ``cls``, built once from its type hints.

    Built ahead so that replaying a million events does not inspect type
    hints a million times (the projections' rebuild reads the whole log).
    """
    found = _DECODERS.get(cls.__name__)
    if found is None:
        found = {
            name: _decoder(hint, cls.__name__, name) for name, hint in _field_types(cls).items()
        }
        _DECODERS[cls.__name__] = found
    return found


def _decoder(hint: Any, type_name: str, name: str) -> Decoder:
    def refuse(raw: object, expected: str) -> EventDecodeError:
        return EventDecodeError(type_name, f"field {name}: expected {expected}, got {raw!r}")

    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        inner = _decoder(options[0], type_name, name)
        return lambda raw: None if raw is None else inner(raw)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        item = _decoder(item_hint, type_name, name)

        def a_tuple(raw: object) -> object:
            if not isinstance(raw, list):
                raise refuse(raw, "a list")
            return tuple(item(each) for each in raw)

        return a_tuple
    if hint is bool:

        def a_bool(raw: object) -> object:
            if not isinstance(raw, bool):
                raise refuse(raw, "a boolean")
            return raw

        return a_bool
    if hint is int:

        def an_int(raw: object) -> object:
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise refuse(raw, "an integer")
            return raw

        return an_int
    parse: Callable[[str], object]
    if hint is str:
        parse = str
    elif hint is datetime:
        where = f"{type_name}.{name}"

        def parse(text: str) -> object:
            return require_aware(datetime.fromisoformat(text), where)

    elif hint is date:
        parse = date.fromisoformat
    elif isinstance(hint, type) and issubclass(hint, Enum):
        parse = hint
    else:

        def parse(text: str) -> object:
            raise EventDecodeError(type_name, f"field {name}: unsupported type {hint!r}")

    def a_string(raw: object) -> object:
        if not isinstance(raw, str):
            raise refuse(raw, "a string")
        if hint is str:
            return raw
        try:
            return parse(raw)
        except ValueError as error:
            raise EventDecodeError(type_name, f"field {name}: {error}") from error

    return a_string
