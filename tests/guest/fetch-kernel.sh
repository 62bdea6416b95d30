#!/bin/bash
# Fetch a Debian kernel for the enforcement test guests, cached under target/guest/.
#   fetch-kernel.sh SUITE      (bookworm -> 6.1, trixie -> 6.12)
# The exact image package is resolved through the linux-image-amd64 metapackage at
# fetch time: ABI-numbered packages vanish from the archive when a new ABI lands.
# The archive address is taken from the system's own apt sources (never hard-coded),
# and the system's apt state is never modified: a private Dir::State / sourcelist is used.
set -euo pipefail
suite=${1:?usage: fetch-kernel.sh SUITE}
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/guest/kernel-$suite"
if [[ -f "$out/vmlinuz" && -f "$out/version" ]]; then
    echo "fetch-kernel: $suite kernel $(cat "$out/version") cached in $out"
    exit 0
fi
apt_dir="$root/target/guest/apt-$suite"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$out"

# The mirror the system already uses for Debian.
mirror=$("$root/tests/debian-mirror.sh") || { echo "fetch-kernel: cannot tell the Debian mirror" >&2; exit 1; }
echo "deb $mirror $suite main" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
          -o "Dir::State::status=/dev/null" -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
apt-get -q "${apt_opts[@]}" update >/dev/null
# linux-image-amd64 depends on linux-image-<abi>-amd64 (or the -unsigned one).
image=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n "$image" ]] || { echo "fetch-kernel: cannot resolve linux-image-amd64 in $suite" >&2; exit 1; }
echo "fetch-kernel: $suite: linux-image-amd64 -> $image"
cd "$apt_dir"
rm -f ./*.deb
apt-get -q "${apt_opts[@]}" download "$image" >/dev/null
rm -rf "$out/root"
dpkg -x ./"$image"_*.deb "$out/root"
# trixie ships modules under /usr/lib (merged /usr); give both layouts one path.
if [[ ! -d "$out/root/lib/modules" && -d "$out/root/usr/lib/modules" ]]; then
    ln -s usr/lib "$out/root/lib"
fi
version=$(ls "$out/root/lib/modules" | head -1)
cp "$out/root/boot/vmlinuz-$version" "$out/vmlinuz"
# dpkg -x skips postinst: build modules.dep ourselves.
depmod -b "$out/root" "$version"
echo "$version" > "$out/version"
echo "fetch-kernel: $suite kernel $version ready in $out"
