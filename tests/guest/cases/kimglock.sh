# Cases of kimglock: the kernel's lockdown, per pid namespace (docs/kimglock.md).
# Sourced by /init after lib.sh.

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

begin kimglock_allow_bpf_write_in_containers
# bpf_write is kimglock's too: allowed to containers, but bpfrestrict still decides bpf().
run 0 bpflock bootstrap --kimglock-profile=baseline --kimglock-allow=bpf_write --bpfrestrict-profile=allow
expect container bpf_write ok
run 0 bpflock bootstrap --kimglock-profile=baseline --bpfrestrict-profile=allow
expect container bpf_write EINVAL; expect container prog_load ok
end

# A safe rollout: the same decisions, reported as would-deny, nothing refused.
begin kimglock_complain_refuses_nothing
run 0 bpflock bootstrap --kimglock-profile=baseline --kimglock-mode=complain --bpfrestrict-profile=allow
for op in $KIMG_OPS; do expect container $op ok; done
expect container btf_load ok
complain_counted kimglock $(($(echo $KIMG_OPS | wc -w) + 1))
run 0 bpflock status
contains "kimglock: baseline; complain mode"
# Control: the same profile enforced.
run 0 bpflock bootstrap --kimglock-profile=baseline --kimglock-mode=enforce --bpfrestrict-profile=allow
expect container devmem EPERM
end

# A lock in complain mode never carries the pins guard: the first lock in setup order
# (kimglock) would otherwise take it and leave an enforcing bpfrestrict's pins open.
begin kimglock_complain_leaves_the_pins_guarded
run 0 bpflock bootstrap --kimglock-profile=baseline --kimglock-mode=complain --bpfrestrict-profile=baseline
unshare --pid --fork rm -r $ROOT/bpfrestrict 2>/dev/null && fail "a container removed an enforcing bpfrestrict's pins"
unshare --pid --fork rm -r $ROOT/kimglock 2>/dev/null && fail "a container removed the pins of kimglock (complain)"
pinned bpfrestrict/bpf; pinned kimglock/locked_down
expect container map_create EPERM
expect container devmem ok
end
