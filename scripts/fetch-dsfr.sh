#!/usr/bin/env sh
# Fetch the French State design system (DSFR, npm package @gouvfr/dsfr, MIT) into
# udata_ogp/static/dsfr/ (git-ignored): its stylesheet, the fonts and icons that the stylesheet
# refers to (same paths, relative to it), and its licence. Used by scripts/setup.sh for the
# checkout and by setup.py for wheels and sdists, so both serve the same files.
# Idempotent: does nothing when the pinned version is there.
# The pages stay readable and styled by udata_ogp/static/ogp.css without it.
set -eu

DSFR_VERSION="${DSFR_VERSION:-1.15.3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/udata_ogp/static/dsfr"

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$DSFR_VERSION" ] \
    && [ -f "$DEST/dsfr.min.css" ] && [ -f "$DEST/LICENSE.md" ]; then
    echo "DSFR $DSFR_VERSION already in $DEST"
    exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "@gouvfr/dsfr@$DSFR_VERSION" >/dev/null)
tar -xzf "$TMP"/gouvfr-dsfr-*.tgz -C "$TMP"
DIST="$TMP/package/dist"

rm -rf "$DEST"
mkdir -p "$DEST"
cp "$DIST/dsfr.min.css" "$DEST/"
# Only what the stylesheet loads (url(fonts/...), url(icons/...)): 81 of its 1,100 files.
grep -oE 'url\([^)]*\)' "$DIST/dsfr.min.css" | sed -E 's/^url\(//; s/\)$//' \
    | grep -E '^(fonts|icons)/' | sort -u | while read -r path; do
    mkdir -p "$DEST/$(dirname "$path")"
    cp "$DIST/$path" "$DEST/$path"
done
cp "$TMP/package/LICENSE.md" "$DEST/LICENSE.md"
echo "$DSFR_VERSION" > "$DEST/VERSION"
echo "DSFR $DSFR_VERSION fetched into $DEST ($(find "$DEST" -type f | wc -l) files)"
