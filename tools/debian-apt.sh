# Sourced by the scripts that fetch Debian packages (tools/debian-download.sh,
# tests/guest/fetch-kernel.sh).
#   debian_apt DEB_ARCH SUITE APT_DIR
# A private apt state in APT_DIR for one architecture and suite: sets the array apt_opts
# for apt-get and apt-cache, and updates its package lists. The archive address is taken
# from the system's own apt sources (never hard-coded), and the system's apt state is
# never modified: a private Dir::State / sourcelist is used.
debian_apt() {
    local arch=$1 suite=$2 apt_dir=$3 mirror
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
    mirror=$("$(dirname "${BASH_SOURCE[0]}")/../tests/debian-mirror.sh") || {
        echo "debian-apt: cannot tell the Debian mirror" >&2
        return 1
    }
    echo "deb $mirror $suite main" > "$apt_dir/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
              -o "Dir::State::status=/dev/null" -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1"
              -o "APT::Sandbox::User=root" -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch")
    apt-get -q "${apt_opts[@]}" update >/dev/null
}
