# Cases of bpfrestrict: bpf() per pid namespace and per command (docs/bpfrestrict.md).
# Sourced by /init after lib.sh.

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

begin bpfrestrict_complain_refuses_nothing
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline --bpfrestrict-mode=complain
expect container map_create ok
complain_counted bpfrestrict 1
run 0 bpflock status
contains "bpfrestrict: baseline; complain mode"
run 0 bpflock bootstrap --kimglock-profile=allow --bpfrestrict-profile=baseline
expect container map_create EPERM
end
