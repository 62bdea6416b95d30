#!/bin/bash
# What building the static bpflock for another architecture needs beyond Debian's cross
# compiler (gcc-aarch64-linux-gnu): that architecture's musl, libelf.a, libz.a and kernel
# headers, from Debian's packages of the host's release, unpacked (never installed: no
# multiarch set-up) into DIR, plus a musl-gcc for that architecture.
#   cross-deps.sh DEB_ARCH DIR        (DEB_ARCH: arm64)
# Leaves in DIR: root/ (the unpacked packages, busybox-static for the test guests too), include/ (the kernel and libelf headers
# libbpf is compiled against), lib/ (libelf.a, libz.a), bin/GNU_TRIPLET-musl-gcc.
# Downloaded by tools/debian-download.sh (the system's own mirror, its apt state untouched).
set -euo pipefail
deb_arch=${1:?usage: cross-deps.sh DEB_ARCH DIR}
dir=${2:?usage: cross-deps.sh DEB_ARCH DIR}
case "$deb_arch" in
    arm64) triplet=aarch64-linux-gnu; musl_triplet=aarch64-linux-musl ;;
    *) echo "cross-deps: no cross build for $deb_arch" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ -x "$dir/bin/$musl_triplet-gcc" && -x "$dir/bin/$triplet-gcc" && -f "$dir/lib/libelf.a" && -x "$dir/root/bin/busybox" ]]; then
    exit 0
fi
. /etc/os-release
# busybox-static: the shell and tools of that architecture's test guests.
"$root/tools/debian-download.sh" "$deb_arch" "$VERSION_CODENAME" "$dir" musl-dev libelf-dev zlib1g-dev linux-libc-dev busybox-static >/dev/null

# musl-gcc for that architecture: Debian's cross gcc with musl's own specs, its paths moved
# into the unpacked root.
mkdir -p "$dir/bin" "$dir/include" "$dir/lib"
sed "s|/usr/|$dir/root/usr/|g" "$dir/root/usr/lib/$musl_triplet/musl-gcc.specs" > "$dir/musl-gcc.specs"
# The kernel and libelf headers libbpf needs, beside musl's (as the native build gathers them).
for h in linux asm-generic libelf.h gelf.h zlib.h zconf.h; do ln -sfn "$dir/root/usr/include/$h" "$dir/include/$h"; done
ln -sfn "$dir/root/usr/include/$triplet/asm" "$dir/include/asm"
for a in libelf.a libz.a; do ln -sfn "$dir/root/usr/lib/$triplet/$a" "$dir/lib/$a"; done
# Atomics inline: gcc's default outline atomics call libgcc, which a musl link does not get.
cat > "$dir/bin/$musl_triplet-gcc" <<EOF
#!/bin/sh
exec $triplet-gcc "\$@" -mno-outline-atomics -specs "$dir/musl-gcc.specs" -isystem "$dir/include"
EOF
# The static-glibc fallback (no musl target in rustup): the cross gcc and its glibc, with
# the same kernel and libelf headers.
cat > "$dir/bin/$triplet-gcc" <<EOF
#!/bin/sh
exec /usr/bin/$triplet-gcc "\$@" -mno-outline-atomics -isystem "$dir/include"
EOF
chmod 755 "$dir/bin/$musl_triplet-gcc" "$dir/bin/$triplet-gcc"
echo "cross-deps: $deb_arch musl, libelf and kernel headers in $dir"
