#!/bin/bash
# `make install DESTDIR=...`, `make uninstall` and the Debian package (`make deb`), checked
# file by file. Run after `make dist deb` (make test-install does both).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d); trap 'rm -rf "$dest"' EXIT
passed=0; failed=0
check() { # check NAME COMMAND...
    if "${@:2}" >/dev/null 2>&1; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}
# As `sudo make install` runs it: sudo's secure_path has no cargo and no rustup.
sudo_make() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin make -C "$root" -s "$@"; }

sudo_make install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "install without cargo on the PATH (sudo)" test -x "$dest/usr/sbin/bpflock"
check "binary installed, static, runs" sh -c "! ldd '$dest/usr/sbin/bpflock' 2>&1 | grep -q '=>' && '$dest/usr/sbin/bpflock' --version"
check "no test faults in the installed binary" sh -c "! grep -q -e BPFLOCK_TEST_FAIL_AFTER -e BPFLOCK_TEST_UNFROZEN '$dest/usr/sbin/bpflock'"
check "units installed" test -f "$dest/usr/lib/systemd/system/bpflock.service" -a -f "$dest/usr/lib/systemd/system/bpflock-forward.service"
check "unit runs the installed binary" grep -q "ExecStart=/usr/sbin/bpflock bootstrap" "$dest/usr/lib/systemd/system/bpflock.service"
check "unit re-applies on reload" grep -q "ExecReload=/usr/sbin/bpflock bootstrap" "$dest/usr/lib/systemd/system/bpflock.service"
check "bootstrap sees the files as every process (no private /tmp, /home)" sh -c "! grep -qE '^(PrivateTmp|ProtectHome)=' '$dest/usr/lib/systemd/system/bpflock.service'"
exposure=$(systemd-analyze security --offline=yes "$dest/usr/lib/systemd/system/bpflock-forward.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
check "forwarder hardened: systemd-analyze security ${exposure:-?} <= 2.0" sh -c "[ -n '$exposure' ] && awk 'BEGIN { exit !($exposure <= 2.0) }'"
check "policy installed, valid" "$dest/usr/sbin/bpflock" check "$dest/etc/bpflock/policy.toml"
check "/etc/default/bpflock: the initramfs off unless asked" grep -qx "BPFLOCK_INITRAMFS=no" "$dest/etc/default/bpflock"
check "example policies" test -f "$dest/usr/share/bpflock/policy/container-host.toml"
check "man page bpflock(8)" grep -q "^.TH bpflock 8" "$dest/usr/share/man/man8/bpflock.8"
for sub in bootstrap check status remove forward run operations probe usb-authorize usb; do
    check "man page bpflock-$sub(8)" grep -q "^.TH bpflock-$sub 8" "$dest/usr/share/man/man8/bpflock-$sub.8"
done
# Every bpflock-COMMAND(8) that bpflock(8) names is installed (roff writes the hyphen \-).
man_refs_installed() {
    local refs p
    refs=$(grep -o 'bpflock\\\?-[a-z]*(8)' "$1" | sed 's/\\//g; s/(8)//' | sort -u)
    [ "$(echo "$refs" | grep -c .)" -ge 8 ] || return 1
    for p in $refs; do test -f "$2/$p.8" || return 1; done
}
check "bpflock(8) refers to pages that are installed" man_refs_installed "$dest/usr/share/man/man8/bpflock.8" "$dest/usr/share/man/man8"
check "man page bpflock.toml(5)" grep -q "^.TH bpflock.toml 5" "$dest/usr/share/man/man5/bpflock.toml.5"
check "bash completion" grep -q "_bpflock" "$dest/usr/share/bash-completion/completions/bpflock"
check "bash completion names every protection for remove" grep -q "kimglock kmodlock filelesslock fslock nslock usblock jail bpfrestrict" "$dest/usr/share/bash-completion/completions/bpflock"
check "zsh completion" test -s "$dest/usr/share/zsh/vendor-completions/_bpflock"
check "fish completion" grep -q "jail" "$dest/usr/share/fish/vendor_completions.d/bpflock.fish"
check "dracut module" test -x "$dest/usr/lib/dracut/modules.d/90bpflock/module-setup.sh"
check "udev rule, running the installed binary" grep -q 'RUN+="/usr/sbin/bpflock usb-authorize %p"' "$dest/usr/lib/udev/rules.d/70-bpflock-usb.rules"
check "initramfs-tools hook and script" test -x "$dest/usr/share/initramfs-tools/hooks/bpflock" -a -x "$dest/usr/share/initramfs-tools/scripts/init-premount/bpflock"
echo "# mine" >> "$dest/etc/bpflock/policy.toml"
sudo_make install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "an existing policy is never overwritten" grep -q "^# mine" "$dest/etc/bpflock/policy.toml"

# Another prefix: the units and hooks name the binary where it is, and the hooks go
# where initramfs-tools and dracut look.
local_root="$dest/local"
sudo_make install DESTDIR="$local_root" PREFIX=/usr/local >/dev/null 2>&1
check "PREFIX reaches the unit" grep -q "ExecStart=/usr/local/sbin/bpflock bootstrap" "$local_root/usr/local/lib/systemd/system/bpflock.service"
check "PREFIX reaches the initramfs-tools hook, in /etc/initramfs-tools" grep -qx "BPFLOCK=/usr/local/sbin/bpflock" "$local_root/etc/initramfs-tools/hooks/bpflock"
check "PREFIX reaches the udev rule, in /etc/udev (udev reads no /usr/local)" grep -q 'RUN+="/usr/local/sbin/bpflock usb-authorize %p"' "$local_root/etc/udev/rules.d/70-bpflock-usb.rules"
check "PREFIX reaches the dracut module, in /usr/lib/dracut" grep -qx "BPFLOCK=/usr/local/sbin/bpflock" "$local_root/usr/lib/dracut/modules.d/90bpflock/module-setup.sh"

sudo_make uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "uninstall removes the binary" test ! -e "$dest/usr/sbin/bpflock"
check "uninstall removes units, man pages, hooks" sh -c "test ! -e '$dest/usr/lib/systemd/system/bpflock.service' && test ! -e '$dest/usr/share/man/man8/bpflock.8' && test ! -e '$dest/usr/share/man/man8/bpflock-check.8' && test ! -e '$dest/usr/lib/dracut/modules.d/90bpflock'"
check "uninstall keeps the policy" test -f "$dest/etc/bpflock/policy.toml"

# Nothing built: install says so and installs nothing.
sudo_make install DESTDIR="$dest/none" DIST="$dest/nodist" > "$dest/none.log" 2>&1
check "install without a build refuses, and says why" sh -c "grep -q 'run .make. first' '$dest/none.log' && test ! -e '$dest/none/usr/sbin/bpflock'"

# The Debian package.
deb=$(ls -t "$root"/target/bpflock_*_amd64.deb 2>/dev/null | head -1)
check "make deb built a package" test -f "$deb"
if [ -f "$deb" ]; then
    dpkg-deb -I "$deb" > "$dest/info"; dpkg-deb -c "$deb" > "$dest/contents"
    check "package: name, version, architecture" sh -c "grep -q 'Package: bpflock' '$dest/info' && grep -q 'Architecture: amd64' '$dest/info' && grep -q 'Version: [0-9]' '$dest/info'"
    for f in ./usr/sbin/bpflock ./usr/lib/systemd/system/bpflock.service ./usr/lib/systemd/system/bpflock-forward.service \
        ./etc/bpflock/policy.toml ./etc/default/bpflock ./usr/share/man/man8/bpflock.8 ./usr/share/man/man5/bpflock.toml.5 \
        ./usr/share/bash-completion/completions/bpflock ./usr/share/initramfs-tools/hooks/bpflock \
        ./usr/lib/dracut/modules.d/90bpflock/module-setup.sh ./usr/share/doc/bpflock/copyright \
        ./usr/lib/udev/rules.d/70-bpflock-usb.rules; do
        check "package holds $f" grep -q " $f\$" "$dest/contents"
    done
    check "package files are root's" sh -c "! grep -v ' root/root ' '$dest/contents' | grep -q ."
    ctl=$(mktemp -d); dpkg-deb -e "$deb" "$ctl"
    check "package conffiles: the policy and /etc/default/bpflock" sh -c "grep -qx /etc/bpflock/policy.toml '$ctl/conffiles' && grep -qx /etc/default/bpflock '$ctl/conffiles'"
    check "package enables its units, does not start them" sh -c "grep -q 'deb-systemd-helper enable' '$ctl/postinst' && ! grep -q 'deb-systemd-invoke start' '$ctl/postinst'"
    rm -rf "$ctl"
fi
# The arm64 package, as the matrix's arm64 guests run that build.
arm=$(ls -t "$root"/target/bpflock_*_arm64.deb 2>/dev/null | head -1)
check "make deb ARCH=arm64 built an arm64 package" sh -c "test -f '$arm' && dpkg-deb -f '$arm' Architecture | grep -qx arm64"
check "the arm64 package holds an aarch64 binary" sh -c "dpkg-deb --fsys-tarfile '$arm' | tar -xOf - ./usr/sbin/bpflock | head -c 20 | od -An -tx1 | tr -d ' \n' | grep -q '^7f454c46020101.*b700\$'"
echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
