"""The one place for the rules on text the plugin accepts: characters, lengths, strict JSON.

Model fields (`udata_ogp.models.Text`, `Int`), the request guard (pages' forms, JSON bodies),
the API and the importers all ask here, so the same limit gives the same message everywhere.
`clean()` is the other side: text that comes from udata's own objects (a dataset title) is not
ours to refuse, so it is cleaned where the plugin copies or prints it.

No I/O; the limits are read from the application's settings when there is one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from udata.i18n import gettext as _

__all__ = (
    "INT_MAX",
    "INT_MIN",
    "KINDS",
    "LIMITS",
    "MAX_JSON_DEPTH",
    "TextError",
    "check",
    "check_depth",
    "check_value",
    "clean",
    "int_problem",
    "json_depth",
    "limit",
    "loads",
    "problem",
)

# Longest texts accepted (settings, part of udata_ogp.DEFAULTS).
LIMITS: dict[str, int] = {
    "OGP_MAX_TITLE_LENGTH": 1000,
    # Notes of links and rationales of status changes.
    "OGP_MAX_NOTE_LENGTH": 10000,
    # What browsers and proxies reliably carry.
    "OGP_MAX_URL_LENGTH": 2048,
    # Codes, names, dates, labels.
    "OGP_MAX_SHORT_LENGTH": 500,
    # Anything else (ambitions, results: the longest in the 2018-2020 plan is 4,324).
    "OGP_MAX_TEXT_LENGTH": 100000,
}

# Kind of text → (setting of its maximum length, whether it may span lines).
KINDS: dict[str, tuple[str, bool]] = {
    "title": ("OGP_MAX_TITLE_LENGTH", False),
    "note": ("OGP_MAX_NOTE_LENGTH", True),
    "url": ("OGP_MAX_URL_LENGTH", False),
    "short": ("OGP_MAX_SHORT_LENGTH", False),
    "text": ("OGP_MAX_TEXT_LENGTH", True),
}

# BSON integers are signed 64 bits: anything wider cannot be stored.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Deep enough for any plan document (its free `source` facts included), far below the
# interpreter's recursion limit that json's parser would hit with a RecursionError.
MAX_JSON_DEPTH = 64

_LINE_BREAKS = "\t\n\r"
# Control characters (C0, DEL, C1), lone surrogates and the two XML non-characters: none of
# them is text, several break XML feeds, CSV readers or terminals.
_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BAD_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class TextError(ValueError):
    """A refused value; `path` is where it is in a JSON document (keys and indexes)."""

    def __init__(self, message: str, path: Iterable[str | int] = ()):
        super().__init__(message)
        self.message = message
        self.path = tuple(path)

    @property
    def field(self) -> str | None:
        """The path as the API names fields (`milestones.0.title`), None for the whole body."""
        return ".".join(str(part) for part in self.path) or None


def limit(kind: str) -> int:
    """The maximum length of a kind of text, from the settings (defaults when no app)."""
    from flask import current_app

    setting = KINDS[kind][0]
    try:
        return int(current_app.config.get(setting, LIMITS[setting]))
    except RuntimeError:  # no application context (pure tools, scripts)
        return LIMITS[setting]


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    return f"{code} {name}" if name else code


def problem(value: str, kind: str = "text") -> str | None:
    """Why `value` is refused as this kind of text, or None when it is accepted."""
    multiline = KINDS[kind][1]
    bad = (_BAD if multiline else _BAD_SINGLE_LINE).search(value)
    if bad is not None:
        char = bad.group()
        if "\ud800" <= char <= "\udfff":
            return _(
                "contains an unpaired surrogate (%(char)s), which is not text", char=_describe(char)
            )
        if char in _LINE_BREAKS:
            return _("must be on one line (found %(char)s)", char=_describe(char))
        return _(
            "contains a control character (%(char)s), which is not allowed", char=_describe(char)
        )
    maximum = limit(kind)
    if len(value) > maximum:
        return _(
            "is too long: %(length)s characters, at most %(limit)s",
            length=len(value),
            limit=maximum,
        )
    return None


def check(value: str, kind: str = "text", path: Iterable[str | int] = ()) -> None:
    message = problem(value, kind)
    if message is not None:
        raise TextError(message, path)


def int_problem(value: Any) -> str | None:
    """Why `value` is refused as an integer: floats (even `1.0`), booleans, beyond 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int):
        return _("expected an integer, got %(value)s", value=json.dumps(value, default=repr)[:50])
    if not INT_MIN <= value <= INT_MAX:
        return _("integer out of range (at most 64 bits)")
    return None


def clean(value: str | None, multiline: bool = False, kind: str | None = None) -> str | None:
    """Text from udata's own objects (a dataset title, an organisation's name), made safe to
    copy and print: control characters, lone surrogates and XML non-characters dropped, line
    breaks and tabs made spaces unless `multiline`; cut to the limit of `kind` if given."""
    if value is None:
        return None
    pattern = _BAD if multiline else _BAD_SINGLE_LINE
    value = pattern.sub(lambda m: " " if m.group() in _LINE_BREAKS else "", value)
    if kind is not None:
        value = value[: limit(kind)]
    return value


# ---------------------------------------------------------------------------------------------
# Strict JSON
# ---------------------------------------------------------------------------------------------


class _Refused:
    """A number json parsed that the plugin refuses; reported with its path after parsing."""

    def __init__(self, message: str):
        self.message = message


def _parse_int(text: str) -> Any:
    # Checked on the digits first: `int()` of thousands of digits is slow or refused.
    if len(text.lstrip("-")) > 19 or not INT_MIN <= int(text) <= INT_MAX:
        return _Refused(_("integer out of range (at most 64 bits)"))
    return int(text)


def _parse_float(text: str) -> Any:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        return _Refused(_("number out of range"))
    return number


def _parse_constant(text: str) -> Any:
    return _Refused(_("%(value)s is not a JSON number", value=text))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str | bytes) -> int:
    """The deepest nesting of `text`, brackets inside strings left out (no recursion)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    deepest = depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def check_depth(text: str | bytes) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH before any parser recurses into it."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise TextError(_("JSON nested more than %(limit)s levels deep", limit=MAX_JSON_DEPTH))


def check_value(value: Any, path: Iterable[str | int] = ()) -> None:
    """Every string (keys included) and number inside a JSON-like value, or a TextError."""
    path = tuple(path)
    if isinstance(value, _Refused):
        raise TextError(value.message, path)
    if isinstance(value, str):
        check(value, "text", path)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        message = int_problem(value)
        if message is not None:
            raise TextError(message, path)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TextError(_("number out of range"), path)
    elif isinstance(value, dict):
        for key, item in value.items():
            check(str(key), "short", (*path, key))
            check_value(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_value(item, (*path, index))


def loads(text: str | bytes) -> Any:
    """JSON as the plugin accepts it, or a TextError naming the place at fault.

    Refused: nesting deeper than MAX_JSON_DEPTH, NaN/Infinity, numbers that overflow (`1e400`),
    integers beyond 64 bits, and strings with control characters or lone surrogates
    (`"\\ud800"`). Line breaks and tabs in strings are left to the field rules.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            raise TextError(_("not UTF-8 text (line %(line)s)", line=line)) from None
    check_depth(text)
    try:
        data = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        error = TextError(_("invalid JSON: %(reason)s", reason=exc.msg))
        error.lineno, error.colno, error.reason = exc.lineno, exc.colno, exc.msg
        raise error from None
    check_value(data)
    return data
