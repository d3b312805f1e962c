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

#: ``(type_name, version) -> lift to version + 1``. Empty: no event has changed shape yet.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


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
    fields = _field_types(cls)
    missing = sorted(set(fields) - set(record))
    unknown = sorted(set(record) - set(fields))
    if missing or unknown:
        raise EventDecodeError(type_name, f"missing fields {missing}, unknown fields {unknown}")
    values = {name: _decode(record[name], hint, type_name, name) for name, hint in fields.items()}
    return cls(**values)


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


def _decode(raw: object, hint: Any, type_name: str, name: str) -> object:
    def refuse(expected: str) -> EventDecodeError:
        return EventDecodeError(type_name, f"field {name}: expected {expected}, got {raw!r}")

    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if raw is None:
            return None
        return _decode(raw, options[0], type_name, name)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if not isinstance(raw, list):
            raise refuse("a list")
        return tuple(_decode(item, item_hint, type_name, name) for item in raw)
    if hint is bool:
        if not isinstance(raw, bool):
            raise refuse("a boolean")
        return raw
    if hint is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise refuse("an integer")
        return raw
    if not isinstance(raw, str):
        raise refuse("a string")
    try:
        if hint is str:
            return raw
        if hint is datetime:
            return require_aware(datetime.fromisoformat(raw), f"{type_name}.{name}")
        if hint is date:
            return date.fromisoformat(raw)
        if isinstance(hint, type) and issubclass(hint, Enum):
            return hint(raw)
    except ValueError as error:
        raise EventDecodeError(type_name, f"field {name}: {error}") from error
    raise EventDecodeError(type_name, f"field {name}: unsupported type {hint!r}")
