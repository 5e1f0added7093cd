"""Errors of the plugin's actions, each with the HTTP status the API and pages answer with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class OgpError(Exception):
    """A broken rule: `message` for the API; pages may word its values by their labels.

    With `params`, `message` is a translated template (`_("Unknown role %(role)r.")` without
    arguments) filled here; `format()` fills it again with each value as a page shows it
    (a code by its label), so that visitors never read internal codes.
    """

    status = 400

    def __init__(
        self, message: str, field: str | None = None, params: Mapping[str, Any] | None = None
    ):
        self.template = message
        self.params = dict(params or {})
        self.message = self.format(lambda _name, value: value)
        super().__init__(self.message)
        self.field = field

    def format(self, show: Callable[[str, Any], Any]) -> str:
        """The message with each parameter (each item of a list one) passed through `show`."""
        if not self.params:
            return self.template
        values = {
            name: ", ".join(str(show(name, item)) for item in value)
            if isinstance(value, list | tuple)
            else show(name, value)
            for name, value in self.params.items()
        }
        return self.template % values

    def as_dict(self) -> dict:
        data: dict = {"message": self.message, "status": self.status}
        if self.field:
            data["errors"] = {self.field: [self.message]}
        return data


class InvalidInput(OgpError):
    status = 400


class Forbidden(OgpError):
    status = 403


class NotFound(OgpError):
    status = 404


class Conflict(OgpError):
    status = 409


class Gone(OgpError):
    status = 410


def duplicate_fields(doc) -> list[str]:
    """The fields of `doc`'s unique indexes whose values another stored document holds.

    Asked of the database after a duplicate-key error, because the error's own text names the
    index on MongoDB but nothing on every backend (mongomock says only "E11000").
    """
    cls = type(doc)
    found: list[str] = []
    for spec in cls._meta.get("index_specs") or []:
        if not spec.get("unique"):
            continue
        names = [key for key, _direction in spec["fields"]]
        values = {name: getattr(doc, name, None) for name in names}
        if all(value is None for value in values.values()):
            continue  # sparse or partial: documents without the fields never collide
        query = {name: getattr(value, "pk", value) for name, value in values.items()}
        if cls.objects(pk__ne=doc.pk, **query).only("pk").first() is not None:
            found += [name for name in names if name not in found]
    return found


class TooLarge(OgpError):
    status = 413


def invalid_field(field: str, message: str) -> InvalidInput:
    """The one shape of a refused field, API, pages and guard alike: `field: message`."""
    return InvalidInput(f"{field}: {message}", field=field)
