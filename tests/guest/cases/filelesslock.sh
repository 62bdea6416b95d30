# Cases of filelesslock: no code from files without a name (docs/filelesslock.md).
# Sourced by /init after lib.sh.

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

begin filelesslock_complain_refuses_nothing
run 0 bpflock bootstrap --filelesslock-profile=restricted --filelesslock-mode=complain --kimglock-profile=allow --bpfrestrict-profile=allow
for op in $FILELESS_EXEC_OPS; do expect host $op ok; expect container $op ok; done
complain_counted filelesslock 2
run 0 bpflock status
contains "filelesslock: restricted; complain mode"
run 0 bpflock bootstrap --filelesslock-profile=restricted --kimglock-profile=allow --bpfrestrict-profile=allow
expect container mprotect_memfd EPERM
end
