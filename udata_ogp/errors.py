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


class TooLarge(OgpError):
    status = 413


def invalid_field(field: str, message: str) -> InvalidInput:
    """The one shape of a refused field, API, pages and guard alike: `field: message`."""
    return InvalidInput(f"{field}: {message}", field=field)
