#!/bin/bash
# Downloads Debian packages of one architecture and release and unpacks them (never
# installs: no multiarch set-up) into DIR/root; the .debs stay in DIR/apt/archives.
#   debian-download.sh DEB_ARCH SUITE DIR PACKAGE...
set -euo pipefail
deb_arch=${1:?usage: debian-download.sh DEB_ARCH SUITE DIR PACKAGE...}
suite=${2:?}; dir=${3:?}; shift 3
. "$(dirname "$0")/debian-apt.sh"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
debian_apt "$deb_arch" "$suite" "$dir/apt"
cd "$dir/apt"
rm -f ./*.deb
apt-get -q "${apt_opts[@]}" download "$@" >/dev/null
rm -rf "$dir/root"
for deb in ./*.deb; do dpkg -x "$deb" "$dir/root"; done
echo "debian-download: $* ($deb_arch, $suite) in $dir/root"
