# Cases of nslock: creating user namespaces (docs/nslock.md). Each refusal is first shown
# to be allowed with bpflock absent. Sourced by /init after lib.sh.

NSLOCK="--kimglock-profile=allow --bpfrestrict-profile=allow"

begin nslock_baseline_denies_containers
expect container userns ok
expect host "userns_as 65534" ok
run 0 bpflock bootstrap $NSLOCK --nslock-profile=baseline
pinned nslock/userns_create
expect container userns EPERM
expect container "userns_as 65534" EPERM
expect host userns ok
# Unprivileged on the host is still allowed under baseline alone.
expect host "userns_as 65534" ok
# busybox's unshare -U, as users type it.
unshare --pid --fork unshare -U true 2>/dev/null && fail "unshare -U in a container was allowed"
unshare -U true || fail "unshare -U on the host was refused"
end

begin nslock_unprivileged_deny
expect host userns_nocap ok
run 0 bpflock bootstrap $NSLOCK --nslock-profile=allow --nslock-unprivileged=deny
expect host "userns_as 65534" EPERM
# Decided by CAP_SYS_ADMIN, not by uid: root without it is unprivileged.
expect host userns_nocap EPERM
expect host userns ok
# Root of a container is privileged (CAP_SYS_ADMIN in the initial user namespace): profile allow.
expect container userns ok
run 0 bpflock status
contains "unprivileged user namespaces denied"
end

begin nslock_unprivileged_exempt_executable
cp /bin/testops /tmp/testops-exempt
run 0 bpflock bootstrap $NSLOCK --policy $P/nslock-exempt.toml
expect host "userns_as 65534" EPERM
out=$(/tmp/testops-exempt userns_as 65534 2>&1)
[ "$out" = ok ] || fail "the exempt executable was refused: $out"
# Matched by the file (device and inode), whatever name runs it: a symlink to it is it.
ln -s /tmp/testops-exempt /tmp/testops-link
out=$(/tmp/testops-link userns_as 65534 2>&1)
[ "$out" = ok ] || fail "the exempt executable through a symlink: $out"
rm -f /tmp/testops-link
end

begin nslock_exempt_gone_applies_the_rest
cp /bin/testops /tmp/testops-exempt
run 1 bpflock bootstrap $NSLOCK --policy $P/nslock-exempt-gone.toml
contains "no-such-program"
pinned nslock/userns_create
expect container userns EPERM
expect host "userns_as 65534" EPERM
out=$(/tmp/testops-exempt userns_as 65534 2>&1)
[ "$out" = ok ] || fail "the exempt executable was refused: $out"
rm -f /tmp/testops-exempt
end

begin nslock_restricted_denies_everyone
run 0 bpflock bootstrap $NSLOCK --nslock-profile=restricted
expect host userns EPERM
expect container userns EPERM
run 0 bpflock remove nslock
eventually host userns ok
end

begin nslock_probe_says_what_it_cannot_see
run 0 bpflock probe
contains "nslock: "
end

begin nslock_complain_refuses_nothing
run 0 bpflock bootstrap $NSLOCK --nslock-profile=baseline --nslock-mode=complain
expect container userns ok
complain_counted nslock 1
end
