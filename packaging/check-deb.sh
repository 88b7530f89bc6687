#!/usr/bin/env bash
# Builds the .deb with CPack and checks it the way a user meets it: its control fields and file
# list, the desktop entry and AppStream metadata (desktop-file-validate, appstreamcli), then the
# installed `moin` and `moin-studio` run against the installed base model and demo corpus,
# nothing of the build or source tree. They run from an unpacked copy (dpkg -x, any user) and,
# as root with apt-get, from a real `apt-get install` that is removed again afterwards.
#
#   bash packaging/check-deb.sh [BUILD_DIR]      (default: build; every target must be built)
#
# MOIN_CHECK_DEB_INSTALL=0 skips the real installation. The CTest test deb_package runs this.
set -euo pipefail

build="$(cd "${1:-build}" && pwd)"
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")"
arch="$(dpkg --print-architecture)"
deb="$build/moin-studio_${version}_${arch}.deb"
work="$(mktemp -d /tmp/moin-check-deb.XXXXXX)"
installed_here=0

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "check-deb: FAILED: $*" >&2
  exit 1
}
cleanup() {
  if [ "$installed_here" = 1 ]; then
    apt-get remove -y -q moin-studio >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

for tool in cpack dpkg-deb dpkg-shlibdeps desktop-file-validate appstreamcli file; do
  command -v "$tool" >/dev/null \
    || fail "$tool is missing (install the packages of packaging/install-deps.sh)"
done
for binary in moin moin-studio; do
  [ -x "$build/bin/$binary" ] \
    || fail "$build/bin/$binary is not built; build every target first: cmake --build $build"
done

step "cpack -G DEB"
rm -f "$deb"
started=$(date +%s%N)
if ! (cd "$build" && cpack -G DEB) >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log"
  fail "cpack could not build the package"
fi
[ -f "$deb" ] || { cat "$work/cpack.log"; fail "cpack did not write $deb"; }
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
printf 'built %s: %s bytes in %d.%01d s\n' "$(basename "$deb")" "$(stat -c %s "$deb")" \
  $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))

step "control fields"
dpkg-deb -I "$deb" | tee "$work/info.txt"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = moin-studio ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', expected $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is '$(field Architecture)'"
[ "$(field Section)" = science ] || fail "Section is '$(field Section)'"
depends="$(field Depends)"
# dpkg-shlibdeps must have found the libraries the binaries link (and the shim's sentencepiece).
# Debian's FAISS is a static library: what it needs at run time is BLAS, LAPACK and OpenMP.
for dependency in libtorch libqt6widgets6 libqt6svg6 libsqlite3 libsentencepiece0 libqcustomplot \
  libblas3 liblapack3 libgomp1 libc6; do
  grep -q "$dependency" <<<"$depends" || fail "Depends lacks $dependency: $depends"
done

step "file list"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >"$work/files.txt"
for path in /usr/bin/moin /usr/bin/moin-studio /usr/lib/moin-studio/libmoin_sentencepiece.so \
  /usr/share/applications/moin-studio.desktop /usr/share/metainfo/io.moin.Studio.metainfo.xml \
  /usr/share/icons/hicolor/scalable/apps/moin-studio.svg \
  /usr/share/moin-studio/base-model/config.json /usr/share/moin-studio/base-model/model.safetensors \
  /usr/share/moin-studio/base-model/tokenizer.model \
  /usr/share/moin-studio/demo-corpus/scripture.jsonl /usr/share/doc/moin-studio/copyright; do
  grep -qx "$path" "$work/files.txt" || fail "the package lacks $path"
done
if grep -E '^/usr/(include|local)/|/tst_|/bench_' "$work/files.txt"; then
  fail "the package holds files that are not for users (above)"
fi
echo "$(wc -l <"$work/files.txt") entries, every expected file present"

step "unpack, validate the desktop entry and the AppStream metadata"
dpkg -x "$deb" "$work/root"
desktop-file-validate "$work/root/usr/share/applications/moin-studio.desktop"
appstreamcli validate --no-net "$work/root/usr/share/metainfo/io.moin.Studio.metainfo.xml"
for binary in moin moin-studio; do
  file -L "$work/root/usr/bin/$binary" | grep -q 'stripped$' \
    || fail "$binary is not stripped: $(file -L "$work/root/usr/bin/$binary")"
done

# Runs the installed programs of PREFIX (/usr, or the unpacked copy's usr) on a new workspace.
run_installed() {
  local prefix="$1" name="$2"
  local moin="$prefix/bin/moin" studio="$prefix/bin/moin-studio"
  local ws="$work/ws-$name" share
  share="$(readlink -f "$prefix/share/moin-studio")"
  # Nothing from the environment points anywhere else.
  unset MOIN_BASE_MODEL MOIN_SENTENCEPIECE_LIBRARY

  "$moin" --version | tee "$work/version.txt"
  grep -qx "$version" "$work/version.txt" || fail "moin --version does not say $version"
  "$moin" version

  "$moin" init "$ws" | tee "$work/init.txt"
  grep -q "base model $share/base-model)" "$work/init.txt" \
    || fail "the new workspace does not use the installed base model $share/base-model"

  # LD_DEBUG names each library as it is loaded: the tokenizer shim must be the installed one.
  LD_DEBUG=files "$moin" import "$ws" "$prefix/share/moin-studio/demo-corpus/scripture.jsonl" \
    --json >"$work/import.json" 2>"$work/import.ld"
  cat "$work/import.json"
  grep -q '"chunks": [1-9]' "$work/import.json" || fail "the import added no chunks"
  local shim
  shim="$(grep -o 'file=[^ ]*libmoin_sentencepiece.so' "$work/import.ld" | head -1 | cut -d= -f2)"
  [ "$(readlink -f "$shim")" = "$(readlink -f "$prefix/lib/moin-studio/libmoin_sentencepiece.so")" ] \
    || fail "moin loaded the tokenizer shim from '$shim', not from $prefix/lib/moin-studio"
  echo "tokenizer shim loaded from $shim"

  QT_QPA_PLATFORM=offscreen timeout 120 "$studio" "$ws" --view corpus \
    --screenshot "$work/studio-$name.png"
  file "$work/studio-$name.png" | grep -q 'PNG image data' \
    || fail "moin-studio wrote no screenshot"
  echo "moin-studio screenshot: $(file -b "$work/studio-$name.png")"
  if [ -n "${MOIN_CHECK_DEB_KEEP_SCREENSHOT:-}" ]; then
    cp "$work/studio-$name.png" "$MOIN_CHECK_DEB_KEEP_SCREENSHOT"
  fi
}

step "run the unpacked copy (dpkg -x)"
run_installed "$work/root/usr" unpacked

if [ "${MOIN_CHECK_DEB_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if dpkg-query -W -f='${Status}' moin-studio 2>/dev/null | grep -q "install ok installed"; then
    echo "moin-studio is installed already: the real installation is not touched"
  else
    step "apt-get install $deb"
    installed_here=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb"
    [ "$(command -v moin)" = /usr/bin/moin ] || fail "moin is not /usr/bin/moin after installing"
    run_installed /usr installed
    step "apt-get remove moin-studio"
    apt-get remove -y -q moin-studio
    installed_here=0
    [ ! -e /usr/bin/moin ] && [ ! -e /usr/share/moin-studio ] \
      || fail "files of the package are left after apt-get remove"
  fi
else
  echo "(not root, no apt-get, or MOIN_CHECK_DEB_INSTALL=0: checked the unpacked copy only)"
fi

echo
echo "check-deb: OK ($deb)"
