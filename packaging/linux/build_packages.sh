#!/usr/bin/env bash
# Turn the PyInstaller bundle into the Linux downloads:
#   dist/taxon-<version>-linux-x86_64.tar.gz   (the bundle; run ./taxon-<version>/Taxon)
#   dist/taxon_<version>_amd64.deb             (/usr/lib/taxon, /usr/bin/taxon, menu entry, icons)
# A bundle built with a CPU-only torch gets "-cpu" in both names (taxon-cpu_<version>_amd64.deb,
# taxon-cpu-<version>-linux-x86_64.tar.gz); the package inside is "taxon" either way.
#
#   packaging/linux/build_packages.sh BUNDLE_DIR OUT_DIR VERSION [fast|best] ["tar deb"]
#
# The last argument picks the downloads (both by default); CI builds only the .deb, which is
# what its tests install, to save the tarball's 2.7 GB of disk.
#
# "fast" (CI) compresses the tarball with gzip -1 and the .deb with zstd -1 (dpkg >= 1.21.18:
# Debian 12, Ubuntu 21.10); "best" (releases) with gzip -9 and xz -6, which every dpkg reads.
# pigz, where installed, gzips on every core. Nothing here touches a user's data: the package holds only its own files
# and has no maintainer scripts (dpkg's triggers refresh the icon, menu and MIME caches).
set -euo pipefail

bundle=$(realpath "$1")
out=$(realpath -m "$2")
version=$3
compression=${4:-best}
formats=${5:-tar deb}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
machine=$(uname -m)
if compgen -G "$bundle/_internal/torch/lib/libtorch_cuda.so" >/dev/null; then flavour=""; else flavour="-cpu"; fi

test -x "$bundle/Taxon" || { echo "no bundle at $bundle (run pyinstaller first)" >&2; exit 1; }
case $compression in
  fast) gzip_level=-1; deb_args=(-Zzstd -z1) ;;
  best) gzip_level=-9; deb_args=(-Zxz -z6) ;;
  *) echo "compression must be fast or best, not $compression" >&2; exit 2 ;;
esac
for format in $formats; do
  case $format in tar|deb) ;; *) echo "formats are tar and deb, not $format" >&2; exit 2 ;; esac
done
wants() { [[ " $formats " == *" $1 "* ]]; }
if command -v pigz >/dev/null; then gzip_cmd="pigz $gzip_level"; else gzip_cmd="gzip $gzip_level"; fi
mkdir -p "$out"
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# --- the tarball: the bundle under a versioned folder ----------------------------------
if wants tar; then
tarball="$out/taxon$flavour-$version-linux-$machine.tar.gz"
started=$SECONDS
tar -C "$(dirname "$bundle")" --transform "s,^$(basename "$bundle"),taxon-$version," \
    --owner=0 --group=0 --numeric-owner -cf - "$(basename "$bundle")" | $gzip_cmd > "$tarball.part"
mv "$tarball.part" "$tarball"
echo "$(basename "$tarball"): $(du -h "$tarball" | cut -f1) in $((SECONDS - started)) s"
fi
wants deb || exit 0

# --- the .deb ---------------------------------------------------------------------------
pkg="$stage/taxon"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib" "$pkg/usr/bin" "$pkg/usr/share/applications" \
         "$pkg/usr/share/mime/packages" "$pkg/usr/share/doc/taxon"
# Hard links: no second copy of several GB while staging (same file system as dist/).
cp -al "$bundle" "$pkg/usr/lib/taxon" 2>/dev/null || cp -a "$bundle" "$pkg/usr/lib/taxon"
install -m 0755 "$here/taxon-launcher.sh" "$pkg/usr/bin/taxon"
install -m 0644 "$here/taxon.desktop" "$pkg/usr/share/applications/taxon.desktop"
install -m 0644 "$here/taxon-mime.xml" "$pkg/usr/share/mime/packages/taxon.xml"
for png in "$root"/resources/icons/taxon-*.png; do
  size=$(basename "$png" .png); size=${size#taxon-}
  install -D -m 0644 "$png" "$pkg/usr/share/icons/hicolor/${size}x${size}/apps/taxon.png"
done
install -m 0644 "$here/copyright" "$pkg/usr/share/doc/taxon/copyright"
install -m 0644 "$root/resources/licenses.json" "$pkg/usr/share/doc/taxon/licenses.json"

installed_kb=$(du -sk --apparent-size "$pkg/usr" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_kb/" \
    "$here/control.in" > "$pkg/DEBIAN/control"

deb="$out/taxon${flavour}_${version}_${arch}.deb"
started=$SECONDS
dpkg-deb --root-owner-group "${deb_args[@]}" --build "$pkg" "$deb.part" >/dev/null
mv "$deb.part" "$deb"
echo "$(basename "$deb"): $(du -h "$deb" | cut -f1) in $((SECONDS - started)) s"
