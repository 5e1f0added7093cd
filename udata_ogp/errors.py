"""Errors of the plugin's actions, each with the HTTP status the API and pages answer with."""

from __future__ import annotations


class OgpError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

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
