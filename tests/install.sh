#!/bin/bash
# `make install DESTDIR=...` and `make uninstall`, checked file by file.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d); trap 'rm -rf "$dest"' EXIT
passed=0; failed=0
check() { # check NAME COMMAND...
    if "${@:2}" >/dev/null 2>&1; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}
make -C "$root" -s install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "binary installed, static, runs" sh -c "! ldd '$dest/usr/sbin/bpflock' 2>&1 | grep -q '=>' && '$dest/usr/sbin/bpflock' --version"
check "no test faults in the installed binary" sh -c "! grep -q -e BPFLOCK_TEST_FAIL_AFTER -e BPFLOCK_TEST_UNFROZEN '$dest/usr/sbin/bpflock'"
check "units installed" test -f "$dest/usr/lib/systemd/system/bpflock.service" -a -f "$dest/usr/lib/systemd/system/bpflock-forward.service"
check "unit runs the installed binary" grep -q "ExecStart=/usr/sbin/bpflock bootstrap" "$dest/usr/lib/systemd/system/bpflock.service"
check "policy installed, valid" "$dest/usr/sbin/bpflock" check "$dest/etc/bpflock/policy.toml"
check "example policies" test -f "$dest/usr/share/bpflock/policy/container-host.toml"
check "man page generated" grep -q "^.TH bpflock 8" "$dest/usr/share/man/man8/bpflock.8"
check "man page lists bootstrap" grep -q "bootstrap" "$dest/usr/share/man/man8/bpflock.8"
check "bash completion" grep -q "_bpflock" "$dest/usr/share/bash-completion/completions/bpflock"
check "zsh completion" test -s "$dest/usr/share/zsh/vendor-completions/_bpflock"
check "fish completion" test -s "$dest/usr/share/fish/vendor_completions.d/bpflock.fish"
check "dracut module" test -x "$dest/usr/lib/dracut/modules.d/90bpflock/module-setup.sh"
check "initramfs-tools hook and script" test -x "$dest/usr/share/initramfs-tools/hooks/bpflock" -a -x "$dest/usr/share/initramfs-tools/scripts/init-premount/bpflock"
echo "# mine" >> "$dest/etc/bpflock/policy.toml"
make -C "$root" -s install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "an existing policy is never overwritten" grep -q "^# mine" "$dest/etc/bpflock/policy.toml"
make -C "$root" -s install DESTDIR="$dest/opt-prefix" PREFIX=/opt/bpflock >/dev/null 2>&1
check "PREFIX reaches the unit" grep -q "ExecStart=/opt/bpflock/sbin/bpflock bootstrap" "$dest/opt-prefix/opt/bpflock/lib/systemd/system/bpflock.service"
make -C "$root" -s uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "uninstall removes the binary" test ! -e "$dest/usr/sbin/bpflock"
check "uninstall removes units, man page, hooks" sh -c "test ! -e '$dest/usr/lib/systemd/system/bpflock.service' && test ! -e '$dest/usr/share/man/man8/bpflock.8' && test ! -e '$dest/usr/lib/dracut/modules.d/90bpflock'"
check "uninstall keeps the policy" test -f "$dest/etc/bpflock/policy.toml"
echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
