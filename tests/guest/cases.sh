#!/bin/sh
# Enforcement cases, run inside the QEMU guest by /init (tests/guest/init).
#
# Each case starts with `begin NAME` (tests/guest.rs reads these names to know what must
# be reported) and ends with `end`, which prints one result line on the console:
#   BPFLOCK-CASE PASS name | BPFLOCK-CASE FAIL name: what went wrong
# Denials target processes in a new pid namespace (`unshare --pid --fork`) unless the
# policy denies everyone; every case removes what it pinned.

ROOT=/sys/fs/bpf/bpflock
P=/cases/policies
CASE=""
FAILS=""

begin() { CASE=$1; FAILS=""; }
fail() { FAILS="$FAILS; $*"; }
end() {
	bpflock remove --all >/dev/null 2>&1 || fail "cleanup: bpflock remove --all failed"
	if [ -z "$FAILS" ]; then echo "BPFLOCK-CASE PASS $CASE"; else echo "BPFLOCK-CASE FAIL $CASE:${FAILS#;}"; fi
}

# expect WHERE OP WANT: WHERE is host (initial pid namespace) or container (new pid
# namespace); WANT is ok or an errno name (EPERM...).
expect() {
	# $2 unquoted: "finit_module /modules/minix.ko" is an operation and its argument.
	if [ "$1" = host ]; then got=$(testops $2 2>&1); else got=$(unshare --pid --fork testops $2 2>&1); fi
	[ "$got" = "$3" ] || fail "$2 in $1: got $got, want $3"
}

# eventually WHERE OP WANT: as expect, allowing the kernel up to 10 s to release links
# that were unpinned by hand (it does so asynchronously; `bpflock remove` waits for it).
eventually() {
	i=0
	while [ $i -lt 100 ]; do
		got=$(if [ "$1" = host ]; then testops "$2"; else unshare --pid --fork testops "$2"; fi 2>&1)
		[ "$got" = "$3" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	fail "$2 in $1: got $got, want $3 (after 10 s)"
}

# run CODE CMD...: CMD must exit with CODE. Its output is kept in $OUT.
run() {
	want=$1; shift
	OUT=$("$@" 2>&1); rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want: $(echo "$OUT" | tail -3 | tr '\n' ' ')"
}

contains() { echo "$OUT" | grep -q -- "$1" || fail "output of the last command lacks '$1': $(echo "$OUT" | tr '\n' ' ')"; }
pinned() { [ -e "$ROOT/$1" ] || fail "$ROOT/$1 is not pinned"; }
not_pinned() { [ ! -e "$ROOT/$1" ] || fail "$ROOT/$1 is pinned: $(ls -R "$ROOT" | tr '\n' ' ')"; }
# Program ids of a protection's links, to tell a re-applied set from the old one.
prog_ids() { bpflock status --json | grep -o '"prog_id": [0-9]*' | tr '\n' ' '; }

KIMG_OPS="tracefs debugfs devmem kcore ioperm kexec"
BPF_OPS="map_create prog_load btf_load"
# Code from files with no name: exec of a memfd, of a memfd script, of an unlinked O_TMPFILE,
# of a deleted-but-open file, execveat(AT_EMPTY_PATH) for all; ld.so mapping a memfd; mprotect.
FILELESS_EXEC_OPS="memfd_exec memfd_script tmpfile_exec deleted_exec"
FILELESS_OPS="$FILELESS_EXEC_OPS ldso_memfd mprotect_memfd"

MOD=/modules/minix.ko
# Module loading: finit_module (file), init_module (memory), autoload (mount -t minix).
KMOD_OPS="finit_module:$MOD init_module:$MOD autoload"
kmod() { echo "$1" | tr ':' ' '; }

begin controls_without_bpflock
for op in $KIMG_OPS $BPF_OPS bpf_write exec_file ldso_file $FILELESS_OPS; do
	expect host $op ok; expect container $op ok
done
for op in $KMOD_OPS init_module_unsigned:$MOD firmware:bpflock-test.bin; do
	expect host "$(kmod $op)" ok; expect container "$(kmod $op)" ok
done
expect host "kexec_file /bin/nop" ENOEXEC
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
expect container debugfs ok; expect container ioperm ok
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

begin bpfrestrict_baseline_denies_containers_only
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline
not_pinned kimglock; pinned bpfrestrict/bpf
for op in $BPF_OPS bpf_write; do expect host $op ok; expect container $op EPERM; done
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
for i in 1 2 3; do
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
end

begin filelesslock_restricted_denies_everyone
run 0 bpflock bootstrap --filelesslock-profile=restricted --kimglock-profile=allow --bpfrestrict-profile=allow
for op in $FILELESS_EXEC_OPS mprotect_memfd; do expect host $op EPERM; done
expect host ldso_memfd EXIT127
expect host exec_file ok; expect host ldso_file ok
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
expect host "kexec_file /bin/nop" ENOEXEC
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
expect host "kexec_file /bin/nop" ENOEXEC
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
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-ro
expect host "finit_module $MOD" EPERM
mount -o remount,ro / || fail "cannot remount / read-only"
expect host "finit_module $MOD" ok
mount -o remount,rw /
expect host "finit_module $MOD" EPERM
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

# ---- audit: events to journald through `bpflock forward`, every one accounted for ----

FWD=""
start_forwarder() {
	bpflock forward 2>>/tmp/forward.err &
	FWD=$!
	# Ready once it has logged that it forwards.
	i=0
	while ! journal_json | grep -q "forwarding events"; do
		sleep 0.1; i=$((i + 1))
		[ $i -lt 100 ] || { fail "the forwarder did not start: $(cat /tmp/forward.err)"; return; }
	done
}
stop_forwarder() {
	kill -0 $FWD 2>/dev/null || fail "the forwarder died: $(tail -3 /tmp/forward.err)"
	kill -TERM $FWD; wait $FWD; rc=$?
	[ $rc = 0 ] || fail "the forwarder exited $rc on SIGTERM"
}
# journal_mark: starts a case's journal view (entries are told apart by the forwarder's pid).
journal_mark() {
	FWD=0
	: >/tmp/forward.err
}
# journal_json [FIELD=VALUE...]: what this case's forwarder logged, one JSON object a line.
journal_json() { journalctl -q -o json --no-pager -t bpflock _PID="$FWD" "$@" 2>/dev/null; }
# The forwarder's own accounting at stop: forwarded FIELD.
forwarded() { journal_json | grep BPFLOCK_DELIVERED | tail -1 | grep -o "\"$1\":\"[0-9]*\"" | grep -o '[0-9]*'; }
# A kernel counter from `bpflock status --json`: counter NAME.
counter() { bpflock status --json | grep -o "\"$1\": [0-9]*" | head -1 | grep -o '[0-9]*$'; }
denied() { bpflock status --json | tr -d ' \n' | grep -o "\"protection\":\"$1\",\"decision\":\"denied\",\"count\":[0-9]*" | grep -o '[0-9]*$'; }
has_journald() { [ -S /run/systemd/journal/socket ] && command -v journalctl >/dev/null; }

begin audit_denials_reach_journald_once
has_journald || fail "no journald in the guest"
journal_mark
run 0 bpflock bootstrap
start_forwarder
expect container devmem EPERM
expect container map_create EPERM
sleep 1
stop_forwarder
n=$(journal_json BPFLOCK_PROTECTION=kimglock BPFLOCK_OPERATION=dev_mem | grep -c .)
[ "$n" = 1 ] || fail "kimglock dev_mem denial logged $n times, want 1"
OUT=$(journal_json BPFLOCK_PROTECTION=kimglock BPFLOCK_OPERATION=dev_mem)
for f in '"BPFLOCK_DECISION":"denied"' '"BPFLOCK_COMM":"testops"' '"BPFLOCK_HOOK":"locked_down"' \
	'"BPFLOCK_PIDNS_LEVEL":"1"' '"BPFLOCK_UID":"0"' '"PRIORITY":"4"' '"SYSLOG_IDENTIFIER":"bpflock"' \
	'"BPFLOCK_CGROUP_ID":"[0-9]' '"BPFLOCK_PID":"[0-9]' '"BPFLOCK_PPID":"[0-9]' '"BPFLOCK_PIDNS":"[0-9]' \
	'"MESSAGE":"kimglock: denied dev_mem to testops'; do
	contains "$f"
done
n=$(journal_json BPFLOCK_PROTECTION=bpfrestrict BPFLOCK_OPERATION=BPF_MAP_CREATE | grep -c .)
[ "$n" = 1 ] || fail "bpfrestrict map create denial logged $n times, want 1"
end

begin audit_flood_is_counted_exactly
journal_mark
run 0 bpflock bootstrap
start_forwarder
OUT=$(unshare --pid --fork testops times 3000 devmem)
contains "attempts 3000 ok 0"
sleep 2
[ "$(denied kimglock)" = 3000 ] || fail "kimglock denied counter $(denied kimglock), want 3000"
wanted=$(counter wanted); output=$(counter output); suppressed=$(counter suppressed)
no_reader=$(counter no_reader); ring_full=$(counter ring_full)
[ $((output + suppressed + no_reader + ring_full)) = "$wanted" ] ||
	fail "wanted $wanted != output $output + suppressed $suppressed + no_reader $no_reader + ring_full $ring_full"
[ "$suppressed" -gt 0 ] || fail "the rate limit suppressed nothing of a 3000-denial flood"
stop_forwarder
delivered=$(forwarded BPFLOCK_DELIVERED); lost=$(forwarded BPFLOCK_LOST)
[ "$delivered" = "$output" ] || fail "forwarder delivered $delivered, the kernel output $output"
[ "$lost" = "$ring_full" ] || fail "forwarder saw $lost lost, the kernel counted $ring_full ring full"
n=$(journal_json BPFLOCK_OPERATION=dev_mem | grep -c .)
[ "$n" = "$delivered" ] || fail "$n journal entries for $delivered delivered events"
end

begin audit_unlimited_flood_loses_nothing_uncounted
journal_mark
cat > /tmp/unlimited.toml <<'TOML'
[bpflock]
rate_limit = 0
[kimglock]
profile = "baseline"
TOML
run 0 bpflock bootstrap --policy /tmp/unlimited.toml
start_forwarder
OUT=$(unshare --pid --fork testops times 4000 devmem)
contains "attempts 4000 ok 0"
sleep 3
[ "$(denied kimglock)" = 4000 ] || fail "kimglock denied counter $(denied kimglock), want 4000"
wanted=$(counter wanted); output=$(counter output); suppressed=$(counter suppressed)
no_reader=$(counter no_reader); ring_full=$(counter ring_full)
[ "$suppressed" = 0 ] || fail "suppressed $suppressed with rate_limit = 0"
[ $((output + ring_full)) = "$wanted" ] && [ "$wanted" = 4000 ] ||
	fail "wanted $wanted (want 4000) != output $output + ring_full $ring_full (no_reader $no_reader)"
stop_forwarder
delivered=$(forwarded BPFLOCK_DELIVERED); lost=$(forwarded BPFLOCK_LOST)
[ "$delivered" = "$output" ] || fail "forwarder delivered $delivered, the kernel output $output"
[ "$lost" = "$ring_full" ] || fail "forwarder saw $lost lost, the kernel counted $ring_full ring full"
if [ "$lost" -gt 0 ]; then
	n=$(journal_json | grep -c '"BPFLOCK_CPU"')
	[ "$n" -gt 0 ] || fail "$lost events lost but no loss entry in the journal"
fi
end

begin audit_events_without_forwarder_are_reported
journal_mark
run 0 bpflock bootstrap
OUT=$(unshare --pid --fork testops times 5 devmem)
[ "$(counter no_reader)" = 5 ] || fail "no_reader counter $(counter no_reader), want 5"
start_forwarder
stop_forwarder
OUT=$(journal_json BPFLOCK_DROPPED_NO_READER=5)
contains "5 events were dropped while no forwarder was running"
end

begin audit_events_none_and_all
journal_mark
cat > /tmp/events.toml <<'TOML'
[bpflock]
events = "none"
[kimglock]
profile = "baseline"
events = "all"
[bpfrestrict]
profile = "baseline"
TOML
run 0 bpflock bootstrap --policy /tmp/events.toml
start_forwarder
expect host devmem ok
expect container map_create EPERM
sleep 1
stop_forwarder
OUT=$(journal_json BPFLOCK_OPERATION=dev_mem BPFLOCK_DECISION=allowed)
contains '"PRIORITY":"6"'
n=$(journal_json BPFLOCK_PROTECTION=bpfrestrict | grep -c .)
[ "$n" = 0 ] || fail "bpfrestrict has events = none but logged $n entries"
[ "$(denied bpfrestrict)" = 1 ] || fail "bpfrestrict denial not counted: $(denied bpfrestrict)"
end

begin audit_filelesslock_allow_reports
journal_mark
run 0 bpflock bootstrap --filelesslock-profile=allow --kimglock-profile=allow --bpfrestrict-profile=allow
start_forwarder
expect container memfd_exec ok
expect container exec_file ok
sleep 1
stop_forwarder
n=$(journal_json BPFLOCK_PROTECTION=filelesslock BPFLOCK_OPERATION=exec BPFLOCK_DECISION=allowed | grep -c .)
[ "$n" = 1 ] || fail "an allowed fileless exec logged $n times, want 1"
run 0 bpflock bootstrap --filelesslock-profile=baseline --kimglock-profile=allow --bpfrestrict-profile=allow
start_forwarder
expect container memfd_exec EPERM
sleep 1
stop_forwarder
n=$(journal_json BPFLOCK_PROTECTION=filelesslock BPFLOCK_DECISION=denied BPFLOCK_HOOK=bprm_check_security | grep -c .)
[ "$n" = 1 ] || fail "a denied fileless exec logged $n times, want 1"
end

begin audit_kmodlock_names_the_module
journal_mark
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=baseline
start_forwarder
expect container autoload ENOPKG
expect container "finit_module $MOD" EPERM
sleep 1
stop_forwarder
n=$(journal_json BPFLOCK_PROTECTION=kmodlock BPFLOCK_OPERATION=autoload_module BPFLOCK_OBJECT=fs-minix | grep -c .)
[ "$n" = 1 ] || fail "the refused autoload of fs-minix logged $n times, want 1"
n=$(journal_json BPFLOCK_PROTECTION=kmodlock BPFLOCK_OPERATION=load_module BPFLOCK_HOOK=kernel_read_file | grep -c .)
[ "$n" = 1 ] || fail "the refused finit_module logged $n times, want 1"
journal_mark
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=baseline --kmodlock-block=unsigned_module
start_forwarder
expect container "init_module $MOD" EPERM
expect host "init_module_unsigned $MOD" EPERM
sleep 1
stop_forwarder
n=$(journal_json BPFLOCK_PROTECTION=kmodlock BPFLOCK_OPERATION=load_module BPFLOCK_HOOK=kernel_load_data | grep -c .)
[ "$n" = 1 ] || fail "the refused init_module logged $n times, want 1"
n=$(journal_json BPFLOCK_PROTECTION=kmodlock BPFLOCK_OPERATION=unsigned_module BPFLOCK_PIDNS_LEVEL=0 | grep -c .)
[ "$n" = 1 ] || fail "the refused unsigned module logged $n times, want 1"
end

begin audit_forwarder_under_bpfrestrict_restricted
journal_mark
run 0 bpflock bootstrap --bpfrestrict-profile=restricted
expect host map_create EPERM
start_forwarder
expect container devmem EPERM
expect host prog_load EPERM
sleep 1
# Only the recorded bpflock executable may open the events: a copy may not.
cp /bin/bpflock /tmp/bpflock-copy
run 1 /tmp/bpflock-copy forward
run 0 bpflock status
contains "kimglock denied 1"
stop_forwarder
n=$(journal_json BPFLOCK_OPERATION=dev_mem | grep -c .)
[ "$n" = 1 ] || fail "dev_mem denial logged $n times under bpfrestrict restricted, want 1"
n=$(journal_json BPFLOCK_OPERATION=BPF_PROG_LOAD BPFLOCK_PIDNS_LEVEL=0 | grep -c .)
[ "$n" -ge 1 ] || fail "the host's refused prog load was not logged"
rm -f /tmp/bpflock-copy
end

begin audit_stderr_without_journald
# No journald socket (hidden in a mount namespace): events go to stderr, one line each,
# and the accounting still adds up.
run 0 bpflock bootstrap
: >/tmp/forward-stderr
unshare -m sh -c 'mount -t tmpfs none /run/systemd/journal && exec bpflock forward' 2>/tmp/forward-stderr &
FWD=$!
i=0
while ! grep -q "forwarding events" /tmp/forward-stderr; do
	sleep 0.1; i=$((i + 1))
	[ $i -lt 100 ] || { fail "the forwarder did not start: $(cat /tmp/forward-stderr)"; break; }
done
expect container devmem EPERM
sleep 1
stop_forwarder
OUT=$(cat /tmp/forward-stderr)
contains "no journald socket at /run/systemd/journal/socket"
line=$(grep 'BPFLOCK_OPERATION=dev_mem' /tmp/forward-stderr)
[ "$(echo "$line" | grep -c .)" = 1 ] || fail "want one stderr line for the dev_mem denial: $OUT"
for f in "kimglock: denied dev_mem to testops" BPFLOCK_PROTECTION=kimglock BPFLOCK_DECISION=denied \
	BPFLOCK_COMM=testops BPFLOCK_PIDNS_LEVEL=1; do
	echo "$line" | grep -q "$f" || fail "stderr line lacks $f: $line"
done
contains "forwarder stopping: 1 events delivered, 0 lost in the ring"
# Nothing went to the journal.
if has_journald && [ -n "$(journal_json)" ]; then fail "the stderr forwarder wrote to the journal"; fi
end
. /cases/jail.sh
