#!/bin/sh
# Installs the build into a temporary prefix, then builds README.md's
# embedding example with pkg-config against it, statically and dynamically,
# and runs it on a test guest.
# usage: embed_example.sh BUILD_DIR README GUEST [extra cflags...]
set -eu
build=$1 readme=$2 guest=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
sed -n '/^```c$/,/^```$/p' "$readme" | sed '1d;$d' > "$tmp/app.c"
test -s "$tmp/app.c" || { echo "no C example in $readme"; exit 1; }
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc -Wall -Wextra -Werror "$@" -o "$tmp/app" "$tmp/app.c" $(pkg-config --cflags --libs petrel)
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/app" "$guest"
cc -Wall -Wextra -Werror "$@" -o "$tmp/app-static" "$tmp/app.c" $(pkg-config --cflags petrel) \
   "$tmp/prefix/lib/libpetrel.a" $(pkg-config --libs --static petrel | sed 's/-lpetrel//')
"$tmp/app-static" "$guest"
echo "embedding example: OK"
