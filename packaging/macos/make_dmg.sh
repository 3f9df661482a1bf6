#!/usr/bin/env bash
# Build dist/Taxon-<version>.dmg from the PyInstaller .app (macOS only).
#
#   packaging/macos/make_dmg.sh [--build]
#
# --build runs PyInstaller first (dist/Taxon.app). Signing and notarisation run only when
# their variables are set (see docs/packaging.md); nothing secret lives in this repository:
#   MACOS_SIGN_IDENTITY   "Developer ID Application: NAME (TEAMID)" in the login keychain
#   MACOS_NOTARY_PROFILE  a profile saved with `xcrun notarytool store-credentials`
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}

if [ "${1:-}" = "--build" ]; then
  "$python" -m babel.messages.frontend compile -d translations -D taxon
  "$python" -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/taxon.spec
fi
app=dist/Taxon.app
test -d "$app" || { echo "no $app: run with --build or run PyInstaller first" >&2; exit 1; }
version=$("$python" packaging/taxon_bundle.py version)
dmg="dist/Taxon-$version.dmg"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  # Sign every Mach-O inside out, then the bundle, with the hardened runtime.
  find "$app/Contents" -type f -print0 | while IFS= read -r -d '' file; do
    if file -b "$file" | grep -q Mach-O; then
      codesign --force --timestamp --options runtime \
        --entitlements packaging/macos/entitlements.plist --sign "$MACOS_SIGN_IDENTITY" "$file"
    fi
  done
  codesign --force --timestamp --options runtime --entitlements packaging/macos/entitlements.plist \
    --sign "$MACOS_SIGN_IDENTITY" "$app"
  codesign --verify --deep --strict --verbose=2 "$app"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "Taxon $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$dmg"
fi
if [ -n "${MACOS_NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$dmg" --keychain-profile "$MACOS_NOTARY_PROFILE" --wait
  xcrun stapler staple "$dmg"
fi
echo "$dmg"
