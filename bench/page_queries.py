"""Database commands and HTML size of the commitment page for 10 and 500 links.

    python bench/page_queries.py [mongodb://host:port/db]

Without a URL (nor OGP_TEST_DB_URL), starts SecantusDB in memory on a free port. mongomock
cannot be measured: it sends no pymongo command events.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OGP_TEST_DB_URL")
    proc = None
    if not url:
        from tests.servers import start_secantus

        proc, url = start_secantus("udata-ogp-bench")
    os.environ["OGP_TEST_DB_URL"] = url
    try:
        # Registers the command listener: must come before the app creates its client.
        from udata import api, frontend, settings
        from udata.app import create_app

        import udata_ogp
        from tests.web.test_pages import build_france_plan
        from tests.web.test_pages_queries import measure

        udata_ogp.load_routes()
        from tests import ogp_test_settings

        if proc is not None or "secantus" in os.environ.get("OGP_TEST_DB", ""):
            from tests.conftest import _strip_unsupported_indexes

            _strip_unsupported_indexes()
        app = create_app(settings.Defaults, override=ogp_test_settings())
        api.init_app(app)
        frontend.init_app(app)
        udata_ogp.init_app(app)
        with app.test_request_context():
            from mongoengine.connection import get_db

            get_db().client.drop_database(get_db().name)
            data = build_france_plan()
            result = measure(app.test_client(), data)
        for total, entry in result.items():
            detail = ", ".join(f"{cmd} {coll}: {n}" for (cmd, coll), n in entry["detail"].items())
            print(f"{total:>4} links: {entry['commands']} commands, {entry['bytes']:,} bytes")
            print(f"           {detail}")
        same = result[10]["commands"] == result[500]["commands"]
        print("same number of commands:", "yes" if same else "NO")
        return 0 if same and result[500]["bytes"] < 300_000 else 1
    finally:
        from tests.servers import stop

        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
