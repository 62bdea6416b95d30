# Cases of what every protection shares: bootstrap and re-apply, the pin tree and its
# guard, status, probe, bad input. The controls: every operation works without bpflock.
# Sourced by /init after lib.sh.

begin controls_without_bpflock
for op in $KIMG_OPS $BPF_OPS bpf_write exec_file ldso_file $FILELESS_OPS; do
	expect host $op ok; expect container $op ok
done
for op in $KMOD_OPS finit_module_memfd:$MOD init_module_unsigned:$MOD firmware:bpflock-test.bin; do
	expect host "$(kmod $op)" ok; expect container "$(kmod $op)" ok
done
case "$KEXEC_FILE" in ENOEXEC|ENOSYS) ;; *) fail "kexec_file_load of a non-kernel: got $KEXEC_FILE, want ENOEXEC or ENOSYS" ;; esac
end

begin pins_out_of_reach_of_containers
# A container that sees the host's BPF filesystem (this one shares the host's mounts)
# removes a protection with rm, mv or umount. The control: filelesslock under allow is
# loaded (it reports) but restricts nobody, so nothing keeps a container from its pins.
run 0 bpflock bootstrap --filelesslock-profile=allow --kimglock-profile=allow --bpfrestrict-profile=allow
pinned filelesslock/bprm_check_security
unshare --pid --fork rm -r $ROOT/filelesslock 2>/dev/null || fail "control: a container could not remove unguarded pins"
not_pinned filelesslock/bprm_check_security
bpflock remove --all >/dev/null 2>&1
# Every lock under baseline guards the pin root, the BPF filesystem and /sys.
run 0 bpflock bootstrap --kimglock-profile=baseline --bpfrestrict-profile=baseline --filelesslock-profile=baseline --kmodlock-profile=baseline
# Counted by whichever lock's program runs first on the hook.
lock_denials() { n=0; for p in kimglock kmodlock filelesslock bpfrestrict; do n=$((n + $(denied $p || echo 0))); done; echo $n; }
before=$(lock_denials)
for p in kimglock kmodlock filelesslock bpfrestrict; do
	unshare --pid --fork rm -r $ROOT/$p 2>/dev/null && fail "a container removed $p's pins"
	unshare --pid --fork mv $ROOT/$p $ROOT/gone 2>/dev/null && fail "a container renamed $p's pins"
done
unshare --pid --fork rm -f $ROOT/kimglock/locked_down 2>/dev/null && fail "a container unlinked a pin"
unshare --pid --fork umount /sys/fs/bpf 2>/dev/null && fail "a container unmounted the BPF filesystem"
unshare --pid --fork umount -l /sys 2>/dev/null && fail "a container unmounted /sys"
unshare --pid --fork umount -l / 2>/dev/null && fail "a container unmounted the root, /sys/fs/bpf with it"
for p in kimglock/locked_down kmodlock/kernel_read_file filelesslock/bprm_check_security bpfrestrict/bpf; do pinned $p; done
[ "$(lock_denials)" -gt "$before" ] || fail "the refusals were not counted ($before -> $(lock_denials))"
expect container devmem EPERM
expect container map_create EPERM
# The host (the initial pid namespace) still manages them.
run 0 bpflock remove kimglock
not_pinned kimglock
end

begin status_reports_policy_and_programs
run 0 bpflock bootstrap --policy $P/status.toml
run 0 bpflock status
contains "kimglock: baseline; allow: ioport, debugfs; block: kcore"
contains "bpfrestrict: baseline; block: map_create"
contains "lsm/locked_down"
run 0 bpflock status --json
contains '"prog_id": [1-9]'
end

begin reapply_has_no_gap
run 0 bpflock bootstrap
before=$(prog_ids)
rm -f /tmp/stop
unshare --pid --fork testops repeat devmem /tmp/stop > /tmp/gap.log 2>&1 &
loop=$!
# Three rounds; one under arm64's slower emulation, where the hammering container leaves
# bootstrap little of the one CPU (a round there takes minutes).
rounds="1 2 3"; [ "$(uname -m)" = x86_64 ] || rounds=1
for i in $rounds; do
	run 0 bpflock bootstrap --kimglock-allow=ioport
	run 0 bpflock bootstrap
done
touch /tmp/stop; wait $loop
after=$(prog_ids)
grep -q "ok 0$" /tmp/gap.log || fail "devmem succeeded in a container during re-apply: $(cat /tmp/gap.log)"
grep -q "attempts [1-9]" /tmp/gap.log || fail "the container loop never ran: $(cat /tmp/gap.log)"
[ "$before" != "$after" ] || fail "re-apply kept the same programs: $after"
ls -a $ROOT | grep -q staging && fail "staging left behind: $(ls -a $ROOT)"
end

begin reapply_failure_keeps_old_pins
run 0 bpflock bootstrap
before=$(prog_ids)
export BPFLOCK_TEST_FAIL_AFTER=bpfrestrict
run 1 bpflock bootstrap --kimglock-profile=restricted
unset BPFLOCK_TEST_FAIL_AFTER
contains "fault injected"
after=$(prog_ids)
[ "$before" = "$after" ] || fail "pins changed after a failed re-apply: $before -> $after"
ls -a $ROOT | grep -q staging && fail "staging left behind: $(ls -a $ROOT)"
expect host devmem ok; expect container devmem EPERM
end

begin reapply_under_kimglock_restricted
# restricted kimglock denies btf_load to everyone, bpflock included: re-apply still works.
run 0 bpflock bootstrap --kimglock-profile=restricted
run 0 bpflock bootstrap --kimglock-profile=baseline
expect host devmem ok; expect container devmem EPERM
end

begin profile_allow_removes_protection
run 0 bpflock bootstrap
run 0 bpflock bootstrap --kimglock-profile=allow
not_pinned kimglock; pinned bpfrestrict/bpf
expect container devmem ok
end

# A sealed policy from the initramfs (/ is the initramfs in this guest): refused, nothing
# pinned — its bpfrestrict would keep bpflock.service from re-applying and sealing it in
# the real root. The seal itself: the seal suite, in the guests booted into a disk.
begin seal_not_from_the_initramfs
run 1 bpflock bootstrap --policy $P/sealable.toml --seal
contains "not from the initramfs"
not_pinned kimglock; not_pinned bpfrestrict; not_pinned seal
expect container devmem ok
run 0 bpflock bootstrap --policy $P/sealable.toml
expect container devmem EPERM
end

begin stale_staging_is_cleaned
run 0 bpflock bootstrap
mkdir $ROOT/staging-99999
run 0 bpflock bootstrap
[ ! -e $ROOT/staging-99999 ] || fail "stale staging directory kept"
end

begin invalid_policy_loads_nothing
for f in $P/bad-*.toml; do
	run 2 bpflock bootstrap --policy "$f"
	echo "$OUT" | grep -qE "^$f:[0-9]+:[0-9]+: error: " || fail "$f: no FILE:LINE:COL error: $OUT"
	[ ! -e $ROOT ] || fail "$f: something was pinned"
done
run 2 bpflock bootstrap --kimglock-allow=nosuch
contains "--kimglock-allow"
[ ! -e $ROOT ] || fail "bad override: something was pinned"
end

begin read_only_bpffs
run 0 bpflock bootstrap
before=$(prog_ids)
mount -o remount,ro /sys/fs/bpf
run 1 bpflock bootstrap --kimglock-profile=restricted
contains "read-only"
mount -o remount,rw /sys/fs/bpf
[ "$before" = "$(prog_ids)" ] || fail "pins changed"
expect host devmem ok
end

begin pin_root_not_on_bpffs
mkdir -p /tmp/notbpf
run 1 bpflock bootstrap --pin-root /tmp/notbpf/bpflock
contains "not on a BPF filesystem"
[ ! -e /tmp/notbpf/bpflock ] || fail "created a pin root on tmpfs"
end

begin probe_reports_support
run 0 bpflock probe
contains "programs load and attach"
# Both test kernels know every lockdown reason bpflock names (Debian's 6.1 has the
# later ones backported): nothing may be reported missing.
echo "$OUT" | grep -q "no lockdown reason" && fail "reasons reported missing on $(uname -r): $OUT"
end
