# Cases of the system-wide locks: kimglock, bpfrestrict, filelesslock, kmodlock, probe.
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

begin kimglock_baseline_denies_containers_only
run 0 bpflock bootstrap --kimglock-profile=baseline --bpfrestrict-profile=allow
pinned kimglock/locked_down; not_pinned bpfrestrict
for op in $KIMG_OPS; do expect host $op ok; expect container $op EPERM; done
# btf_load is kimglock's too; map creation is not.
expect container btf_load EPERM; expect container map_create ok
end

begin kimglock_baseline_allow_list
run 0 bpflock bootstrap --kimglock-profile=baseline --kimglock-allow=debugfs,ioport --bpfrestrict-profile=allow
expect container debugfs ok; [ "$(uname -m)" != x86_64 ] || expect container ioperm ok
expect container devmem EPERM; expect container kcore EPERM
end

begin kimglock_baseline_block_list
run 0 bpflock bootstrap --policy $P/kimglock-block-kcore.toml
expect host kcore EPERM; expect host devmem ok; expect container devmem EPERM
end

begin kimglock_restricted_denies_everyone
run 0 bpflock bootstrap --kimglock-profile=restricted --bpfrestrict-profile=allow
for op in $KIMG_OPS; do expect host $op EPERM; done
expect host btf_load EPERM
end

begin kimglock_remove_restores
run 0 bpflock bootstrap --kimglock-profile=restricted --bpfrestrict-profile=allow
expect host devmem EPERM
run 0 bpflock remove kimglock
not_pinned kimglock
for op in $KIMG_OPS; do expect container $op ok; done
end

begin kimglock_rm_pin_dir_restores
run 0 bpflock bootstrap
rm -r $ROOT/kimglock
eventually container devmem ok
# Only kimglock went: bpfrestrict still enforces.
expect container map_create EPERM
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

begin bpfrestrict_baseline_denies_containers_only
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline
not_pinned kimglock; pinned bpfrestrict/bpf
for op in $BPF_OPS bpf_write; do expect host $op ok; expect container $op EPERM; done
end

begin bpfrestrict_state_cannot_be_disarmed
# Host root rewriting bpfrestrict's state map (armed = 0) would turn it off while status
# still said baseline. The attack, where the map is not frozen (a test-only switch): it
# works, containers get bpf() back, and status says the programs are disarmed.
BPFLOCK_TEST_UNFROZEN=1 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline >/dev/null 2>&1
expect container map_create EPERM
expect host "map_zero $ROOT/bpfrestrict/state" ok
expect container map_create ok
run 0 bpflock status
contains "disarmed (their state map says so): baseline is NOT enforced"
bpflock remove --all >/dev/null 2>&1
# As bootstrap leaves it: frozen, the write refused, still enforcing, nothing to warn about.
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline
expect host "map_zero $ROOT/bpfrestrict/state" EPERM
expect container map_create EPERM
run 0 bpflock status
echo "$OUT" | grep -q "NOT enforced" && fail "status warns about an armed bpfrestrict"
end

begin bpfrestrict_block_map_create
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline --bpfrestrict-block=map_create
expect host map_create EPERM; expect host prog_load ok; expect container prog_load EPERM
end

begin bpfrestrict_block_prog_load_and_btf_load
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline --bpfrestrict-block=prog_load,btf_load
expect host prog_load EPERM; expect host btf_load EPERM; expect host map_create ok
end

begin bpfrestrict_block_bpf_write
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline --bpfrestrict-block=bpf_write
# The kernel hides a helper it may not give: the load fails with EINVAL, not EPERM.
expect host bpf_write EINVAL; expect host prog_load ok
end

begin kimglock_allow_bpf_write_in_containers
# bpf_write is kimglock's too: allowed to containers, but bpfrestrict still decides bpf().
run 0 bpflock bootstrap --kimglock-profile=baseline --kimglock-allow=bpf_write --bpfrestrict-profile=allow
expect container bpf_write ok
run 0 bpflock bootstrap --kimglock-profile=baseline --bpfrestrict-profile=allow
expect container bpf_write EINVAL; expect container prog_load ok
end

begin bpfrestrict_restricted
run 0 bpflock bootstrap --kimglock-profile=baseline --bpfrestrict-profile=restricted
for op in $BPF_OPS; do expect host $op EPERM; done
# The recorded bpflock executable may still read its own pins (the forwarder needs it)...
run 0 bpflock status
contains "bpfrestrict: restricted"; contains "program id [0-9]"
# ...any other program may not; status then says what is pinned and what it could not read.
cp /bin/bpflock /tmp/bpflock-copy
run 0 /tmp/bpflock-copy status
contains "kimglock"; contains "bpfrestrict"; contains "unreadable"
rm -f /tmp/bpflock-copy
# re-applying is refused with the reason; what is pinned stays.
run 1 bpflock bootstrap
contains "bpfrestrict"; contains "remove"
pinned bpfrestrict/bpf; pinned kimglock/locked_down
run 0 bpflock remove bpfrestrict
expect host map_create ok
expect container devmem EPERM
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

begin filelesslock_baseline_denies_containers_only
run 0 bpflock bootstrap --filelesslock-profile=baseline --kimglock-profile=allow --bpfrestrict-profile=allow
pinned filelesslock/bprm_check_security; not_pinned kimglock
for op in $FILELESS_OPS; do expect host $op ok; done
for op in $FILELESS_EXEC_OPS; do expect container $op EPERM; done
# ld.so cannot map the memfd: it exits 127 ("failed to map segment").
expect container ldso_memfd EXIT127
expect container mprotect_memfd EPERM
# Files with a name still run, directly and through ld.so.
expect container exec_file ok; expect container ldso_file ok
# A module from a memfd: the kernel reads a file with no name as code; or from memory,
# with no file at all (init_module(2)).
expect container "finit_module_memfd $MOD" EPERM; expect host "finit_module_memfd $MOD" ok
expect container "init_module $MOD" EPERM; expect host "init_module $MOD" ok
expect container "finit_module $MOD" ok
# Programs on an overlay (a container's root filesystem) run, and map executable.
overlay_at /mnt/ovl || fail "cannot mount an overlay"
expect container "exec_path /mnt/ovl/nop" ok
got=$(unshare --pid --fork jailops mprotect_exec /mnt/ovl/nop 2>&1)
[ "$got" = ok ] || fail "mprotect(PROT_EXEC) of a file on an overlay, in a container: got $got"
umount /mnt/ovl
end

begin filelesslock_restricted_denies_everyone
run 0 bpflock bootstrap --filelesslock-profile=restricted --kimglock-profile=allow --bpfrestrict-profile=allow
for op in $FILELESS_EXEC_OPS mprotect_memfd; do expect host $op EPERM; done
expect host ldso_memfd EXIT127
expect host exec_file ok; expect host ldso_file ok
expect host "finit_module_memfd $MOD" EPERM; expect host "init_module $MOD" EPERM
expect host "finit_module $MOD" ok
end

begin filelesslock_runc_pattern_in_initial_namespace
# runc re-executes itself from a memfd before it enters the container's pid namespace:
# under baseline that keeps working, as a memfd exec from the initial namespace.
run 0 bpflock bootstrap --policy $P/fileless-baseline.toml
expect host memfd_exec ok
expect container memfd_exec EPERM
end

begin filelesslock_remove_restores
run 0 bpflock bootstrap --filelesslock-profile=restricted --kimglock-profile=allow --bpfrestrict-profile=allow
run 0 bpflock remove filelesslock
for op in $FILELESS_OPS; do expect host $op ok; done
end

KMOD_ONLY="--kimglock-profile=allow --bpfrestrict-profile=allow"

begin kmodlock_baseline_denies_containers_only
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=baseline
pinned kmodlock/kernel_read_file
for op in $KMOD_OPS; do expect host "$(kmod $op)" ok; done
expect container "finit_module $MOD" EPERM
expect container "init_module $MOD" EPERM
# The kernel's request is refused in the container's context: the module stays unloaded.
expect container autoload ENOPKG
# The real tools, too: busybox insmod (init_module) and modprobe (from modules.dep).
run 0 insmod $MOD; rmmod minix 2>/dev/null
run 1 unshare --pid --fork insmod $MOD
[ ! -e /sys/module/minix ] || { fail "insmod in a container loaded minix"; rmmod minix; }
run 0 modprobe minix; rmmod minix 2>/dev/null
run 1 unshare --pid --fork modprobe minix
[ ! -e /sys/module/minix ] || { fail "modprobe in a container loaded minix"; rmmod minix; }
end

begin kmodlock_block_autoload_is_not_load
# bpflock (C/Go) matched load_module inside autoload_module; names are matched whole here.
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=baseline --kmodlock-block=autoload_module
expect host autoload ENOPKG
expect host "finit_module $MOD" ok; expect host "init_module $MOD" ok
end

begin kmodlock_block_load_module
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=baseline --kmodlock-block=load_module
expect host "finit_module $MOD" EPERM; expect host "init_module $MOD" EPERM
end

begin kmodlock_restricted_denies_everyone
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=restricted
for op in finit_module init_module; do expect host "$op $MOD" EPERM; done
expect host autoload ENOPKG
# Only modules: a kexec image is still read (and refused by kexec itself as no kernel),
# and firmware still loads, from the host and from a container.
expect host "kexec_file /bin/nop" "$KEXEC_FILE"
expect host "firmware bpflock-test.bin" ok; expect container "firmware bpflock-test.bin" ok
end

begin kmodlock_block_unsigned_module
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=baseline --kmodlock-block=unsigned_module
expect host "init_module_unsigned $MOD" EPERM
expect host "init_module $MOD" ok
end

begin kmodlock_rootfs
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=baseline --kmodlock-rootfs
cp $MOD /tmp/minix.ko
expect host "finit_module $MOD" ok
expect host "finit_module /tmp/minix.ko" EPERM
# From memory, the origin cannot be checked.
expect host "init_module $MOD" EPERM
expect host "kexec_file /bin/nop" "$KEXEC_FILE"
run 0 bpflock status
contains "only from: rootfs"
# Firmware too: from the root filesystem yes, from a tmpfs (firmware_class.path) no.
expect host "firmware bpflock-test.bin" ok
mkdir -p /tmp/fw && echo other > /tmp/fw/bpflock-tmp.bin
echo -n /tmp/fw > /sys/module/firmware_class/parameters/path
expect host "firmware bpflock-tmp.bin" ENOENT
run 0 bpflock remove kmodlock
expect host "firmware bpflock-tmp.bin" ok
echo -n "" > /sys/module/firmware_class/parameters/path
rm -f /tmp/minix.ko
end

begin kmodlock_ro
# A read-only bind mount of the writable root: the filesystem is what counts, not the
# mount (the attack works without bpflock: the module loads from there).
mkdir -p /tmp/robind && mount -o bind /modules /tmp/robind && mount -o remount,bind,ro /tmp/robind \
	|| fail "cannot make a read-only bind mount"
grep -q " /tmp/robind .*ro[, ]" /proc/mounts || fail "/tmp/robind is not read-only: $(grep robind /proc/mounts)"
expect host "finit_module /tmp/robind/minix.ko" ok
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-ro
expect host "finit_module /tmp/robind/minix.ko" EPERM
expect host "finit_module $MOD" EPERM
mount -o remount,ro / || fail "cannot remount / read-only"
expect host "finit_module $MOD" ok
mount -o remount,rw /
expect host "finit_module $MOD" EPERM
umount /tmp/robind
end

begin kmodlock_ro_dev
# /mnt/ro: ext2 on a virtio disk QEMU attaches read-only; / is no block device at all.
grep -q " /mnt/ro " /proc/mounts || fail "the read-only disk is not mounted"
expect host "finit_module /mnt/ro/dummy.ko" ok
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-ro-dev
expect host "finit_module /mnt/ro/dummy.ko" ok
expect host "finit_module /modules/dummy.ko" EPERM
run 0 bpflock status
contains "only from: ro_dev"
end

begin kmodlock_remove_restores
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=restricted
run 0 bpflock remove kmodlock
expect host "finit_module $MOD" ok; expect container autoload ok
end

begin probe_reports_support
run 0 bpflock probe
contains "programs load and attach"
# Both test kernels know every lockdown reason bpflock names (Debian's 6.1 has the
# later ones backported): nothing may be reported missing.
echo "$OUT" | grep -q "no lockdown reason" && fail "reasons reported missing on $(uname -r): $OUT"
end
