"""Build steps that pyproject.toml cannot declare: files the package ships but git does not hold.

Every build (wheel, sdist, editable install) compiles the gettext catalogues
(`udata_ogp/translations/*/LC_MESSAGES/udata_ogp.po` -> `.mo`, with Babel). Wheels and sdists also
carry the French State design system (DSFR, npm package `@gouvfr/dsfr`, MIT, licence beside it) in
`udata_ogp/static/dsfr/`, fetched by `scripts/fetch-dsfr.sh` (the pinned version is there). An sdist
holds both, so a wheel built from it needs neither npm nor the network. A build from a git checkout
without npm (or without the npm registry) stops with an error: a wheel without DSFR would serve
pages that look unlike the demo. `OGP_BUILD_WITHOUT_DSFR=1` builds one anyway (its pages use
`static/ogp.css` alone, like a checkout where `scripts/setup.sh` found no npm).

Metadata and entry points are in pyproject.toml; setuptools reads both files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.command.sdist import sdist as _sdist
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
TRANSLATIONS = ROOT / "udata_ogp" / "translations"
DOMAIN = "udata_ogp"  # the `udata.i18n` entry point's name is the gettext domain
DSFR_DIR = ROOT / "udata_ogp" / "static" / "dsfr"
FETCH_DSFR = ROOT / "scripts" / "fetch-dsfr.sh"


def compile_catalogs() -> list[Path]:
    """Compile every `.po` of the domain beside itself; any error in a catalogue stops the build."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        locale = po.parent.parent.name
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=DOMAIN)
        problems = [
            f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors
        ]
        if problems:
            raise SetupError(f"{po}: " + "; ".join(problems))
        if catalog.fuzzy:
            # `pybabel compile` would skip it silently: the release would lack the language.
            raise SetupError(f"{po}: the catalogue's header is marked fuzzy")
        mo = po.with_suffix(".mo")
        with mo.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo)
    if not written:
        raise SetupError(f"no {DOMAIN}.po catalogue under {TRANSLATIONS}")
    print(f"compiled {len(written)} catalogues: {', '.join(p.parent.parent.name for p in written)}")
    return written


def ensure_dsfr() -> None:
    """Make `udata_ogp/static/dsfr/` hold the pinned DSFR (idempotent: the script reads VERSION)."""
    if os.environ.get("OGP_BUILD_WITHOUT_DSFR") == "1":
        print("warning: OGP_BUILD_WITHOUT_DSFR=1: the package's pages use static/ogp.css alone")
        return
    if FETCH_DSFR.is_file():
        if shutil.which("npm") is None and not (DSFR_DIR / "VERSION").is_file():
            raise SetupError(
                "DSFR is not in udata_ogp/static/dsfr/ and npm is not installed to fetch it: "
                "install npm (Node.js), or build from the sdist, or set OGP_BUILD_WITHOUT_DSFR=1 "
                "for a package whose pages use their own CSS only"
            )
        result = subprocess.run(["sh", str(FETCH_DSFR)], cwd=ROOT, check=False)
        if result.returncode != 0:
            raise SetupError(
                "scripts/fetch-dsfr.sh failed (npm registry unreachable?); "
                "set OGP_BUILD_WITHOUT_DSFR=1 for a package without DSFR"
            )
    elif not (DSFR_DIR / "dsfr.min.css").is_file():
        raise SetupError("neither udata_ogp/static/dsfr/ nor scripts/fetch-dsfr.sh is here")


class build_py(_build_py):
    def run(self) -> None:
        compile_catalogs()
        if not self.editable_mode:
            # An editable install serves the checkout, where scripts/setup.sh fetches DSFR.
            ensure_dsfr()
        # The package data list is globbed once and cached: glob again now that the files exist.
        self.__dict__.pop("data_files", None)
        super().run()


class sdist(_sdist):
    def run(self) -> None:
        compile_catalogs()
        ensure_dsfr()
        super().run()


setup(cmdclass={"build_py": build_py, "sdist": sdist})
