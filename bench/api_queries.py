"""Print the database commands the API's listings cost with 10 and with 500 items.

Starts an in-memory SecantusDB (mongomock sends no command events), then runs
`tests/api/test_api_queries.py` against it, which prints the counts per listing:

    python bench/api_queries.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import start_secantus, stop  # noqa: E402  (needs ROOT on sys.path)


def main() -> int:
    server, url = start_secantus("udata-ogp-bench")
    try:
        # tests/conftest.py takes a URL in OGP_TEST_DB as a server someone else runs.
        os.environ["OGP_TEST_DB"] = url
        os.chdir(ROOT)
        return pytest.main(
            [
                "-q",
                "-s",
                "-p",
                "no:cacheprovider",
                "tests/api/test_api_queries.py",
                "-k",
                "QueryCount",
            ]
        )
    finally:
        stop(server)


if __name__ == "__main__":
    sys.exit(main())
