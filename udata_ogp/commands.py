"""`udata ogp ...`: the plugin's command-line interface.

Registered twice on purpose: as a `flask.commands` entry point, so that `udata ogp demo` runs on a
fresh machine with no configuration (Flask lists it without building an app), and by `init_app`.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

grp = AppGroup("ogp", help="Open Government Partnership action plans (udata-ogp).")


@grp.command("demo", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=7000, show_default=True, type=int, help="Port to listen on.")
def demo(host: str, port: int) -> None:
    """Serve a demo portal on the embedded database, with the France 2018-2020 plan loaded."""
    from udata_ogp.demo import run_demo

    run_demo(host=host, port=port)
