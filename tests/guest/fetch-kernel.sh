#!/bin/bash
# Fetch a Debian kernel for the enforcement test guests, cached under target/guest/.
#   fetch-kernel.sh SUITE [ARCH]    (bookworm -> 6.1, trixie -> 6.12, trixie-backports and
#                                    sid -> 7.x; ARCH amd64 (default) or arm64)
# The exact packages are resolved through the linux-image-ARCH metapackage at fetch time:
# ABI-numbered packages vanish from the archive when a new ABI lands, so the matrix follows
# Debian forward by itself. Up to 6.x, linux-image-<abi> holds the kernel and its modules;
# from 7.x it is a shell depending on linux-binary-<abi> (the kernel, at
# usr/lib/modules/<abi>/vmlinuz) and linux-modules-<abi> (modules, .ko.xz): every
# linux-binary-/linux-modules-/linux-base- dependency of the image is fetched and unpacked with it.
# Packages come through tools/debian-apt.sh (the system's own mirror, its apt state untouched).
set -euo pipefail
suite=${1:?usage: fetch-kernel.sh SUITE [ARCH]}
arch=${2:-amd64}
root=$(cd "$(dirname "$0")/../.." && pwd)
name=$suite; [[ $arch == amd64 ]] || name=$suite-$arch
out="$root/target/guest/kernel-$name"
if [[ -f "$out/vmlinuz" && -f "$out/version" ]]; then
    echo "fetch-kernel: $name kernel $(cat "$out/version") cached in $out"
    exit 0
fi
apt_dir="$root/target/guest/apt-$name"
mkdir -p "$out"
. "$root/tools/debian-apt.sh"
debian_apt "$arch" "$suite" "$apt_dir"
# linux-image-ARCH depends on linux-image-<abi>-ARCH (or the -unsigned one).
image=$(apt-cache "${apt_opts[@]}" depends "linux-image-$arch" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n "$image" ]] || { echo "fetch-kernel: cannot resolve linux-image-$arch in $suite" >&2; exit 1; }
# 7.x: the kernel, the modules and modules.builtin/config (linux-base-) are packages of their own.
parts=$(apt-cache "${apt_opts[@]}" depends "$image" | awk '/Depends: linux-(binary|modules|base)-[0-9]/{print $2}' | sort -u)
echo "fetch-kernel: $suite/$arch: linux-image-$arch -> $image" $parts
cd "$apt_dir"
rm -f ./*.deb
apt-get -q "${apt_opts[@]}" download "$image" $parts >/dev/null
rm -rf "$out/root"
for deb in ./*.deb; do dpkg -x "$deb" "$out/root"; done
# trixie and later ship modules under /usr/lib (merged /usr); give both layouts one path.
if [[ ! -d "$out/root/lib/modules" && -d "$out/root/usr/lib/modules" ]]; then
    ln -s usr/lib "$out/root/lib"
fi
version=$(ls "$out/root/lib/modules" | head -1)
for kernel in "$out/root/boot/vmlinuz-$version" "$out/root/lib/modules/$version/vmlinuz"; do
    [[ -f $kernel ]] && { cp "$kernel" "$out/vmlinuz"; break; }
done
[[ -f "$out/vmlinuz" ]] || { echo "fetch-kernel: no vmlinuz in $image $parts" >&2; exit 1; }
# dpkg -x skips postinst: build modules.dep ourselves.
depmod -b "$out/root" "$version"
echo "$version" > "$out/version"
echo "fetch-kernel: $name kernel $version ready in $out"
