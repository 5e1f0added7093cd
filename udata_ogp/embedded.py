"""The embedded default database: udata on an in-process MongoDB emulation (mongomock).

Used by the demo portal and the default test run. udata hands every key of `MONGODB_SETTINGS` to
`mongoengine.connect()`, so no patch of udata is needed: only the client class changes.
"""

from __future__ import annotations

EMBEDDED_DB_URL = "mongodb://localhost:27017/udata-ogp"


def mongomock_settings(url: str = EMBEDDED_DB_URL) -> dict[str, object]:
    """Settings that point udata at a fresh mongomock database named after `url`'s path."""
    import mongomock

    return {
        "MONGODB_HOST": url,
        # Tests read MONGODB_HOST_TEST; keep both names equal so every path sees one database.
        "MONGODB_HOST_TEST": url,
        "MONGODB_SETTINGS": {"host": url, "mongo_client_class": mongomock.MongoClient},
    }


def server_settings(url: str) -> dict[str, object]:
    """Settings for a real MongoDB wire-protocol server (MongoDB, SecantusDB)."""
    return {"MONGODB_HOST": url, "MONGODB_HOST_TEST": url}
