#!/bin/bash
# Downloads Debian packages of one architecture and release and unpacks them (never
# installs: no multiarch set-up) into DIR/root; the .debs stay in DIR/apt/archives.
#   debian-download.sh DEB_ARCH SUITE DIR PACKAGE...
# The archive address is taken from the system's own apt sources (never hard-coded), and
# the system's apt state is never modified: a private Dir::State / sourcelist is used.
set -euo pipefail
deb_arch=${1:?usage: debian-download.sh DEB_ARCH SUITE DIR PACKAGE...}
suite=${2:?}; dir=${3:?}; shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
apt_dir="$dir/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
mirror=$("$root/tests/debian-mirror.sh") || { echo "debian-download: cannot tell the Debian mirror" >&2; exit 1; }
echo "deb $mirror $suite main" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
          -o "Dir::State::status=/dev/null" -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1"
          -o "APT::Sandbox::User=root" -o "APT::Architecture=$deb_arch" -o "APT::Architectures::=$deb_arch")
apt-get -q "${apt_opts[@]}" update >/dev/null
cd "$apt_dir"
rm -f ./*.deb
apt-get -q "${apt_opts[@]}" download "$@" >/dev/null
rm -rf "$dir/root"
for deb in ./*.deb; do dpkg -x "$deb" "$dir/root"; done
echo "debian-download: $* ($deb_arch, $suite) in $dir/root"
