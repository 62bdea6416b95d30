# Audit cases: events to journald through `bpflock forward`, every one accounted for.
# Sourced by /init after lib.sh.

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

# Complain mode's would-deny reaches the journal as a warning of its own.
begin audit_complain_would_deny_reaches_journald
has_journald || fail "no journald in the guest"
journal_mark
run 0 bpflock bootstrap --kimglock-mode=complain
start_forwarder
expect container devmem ok
sleep 1
stop_forwarder
OUT=$(journal_json BPFLOCK_PROTECTION=kimglock BPFLOCK_OPERATION=dev_mem)
contains '"BPFLOCK_DECISION":"would-deny"'
contains '"PRIORITY":"4"'
contains '"MESSAGE":"kimglock: would-deny dev_mem to testops'
end
