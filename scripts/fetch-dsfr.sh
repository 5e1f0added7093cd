#!/usr/bin/env sh
# Fetch the French State design system (DSFR, npm package @gouvfr/dsfr, MIT) into
# udata_ogp/static/dsfr/ (git-ignored). Idempotent: does nothing when the pinned version is there.
# The pages stay readable and styled by udata_ogp/static/ogp.css without it.
set -eu

DSFR_VERSION="${DSFR_VERSION:-1.15.3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/udata_ogp/static/dsfr"

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$DSFR_VERSION" ] && [ -f "$DEST/dsfr.min.css" ]; then
    echo "DSFR $DSFR_VERSION already in $DEST"
    exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "@gouvfr/dsfr@$DSFR_VERSION" >/dev/null)
tar -xzf "$TMP"/gouvfr-dsfr-*.tgz -C "$TMP"

rm -rf "$DEST"
mkdir -p "$DEST"
# The stylesheet refers to fonts/ and icons/ relative to itself: keep that layout.
cp "$TMP/package/dist/dsfr.min.css" "$DEST/"
cp -R "$TMP/package/dist/fonts" "$DEST/fonts"
if [ -d "$TMP/package/dist/icons" ]; then
    cp -R "$TMP/package/dist/icons" "$DEST/icons"
fi
cp "$TMP/package/LICENSE.md" "$DEST/" 2>/dev/null || true
echo "$DSFR_VERSION" > "$DEST/VERSION"
echo "DSFR $DSFR_VERSION fetched into $DEST"
