# Cases of kmodlock: modules and firmware, per pid namespace and by origin (docs/kmodlock.md).
# Sourced by /init after lib.sh.

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

begin kmodlock_complain_refuses_nothing
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=restricted --kmodlock-mode=complain
expect container "finit_module $MOD" ok; rmmod minix 2>/dev/null
expect host "init_module $MOD" ok; rmmod minix 2>/dev/null
complain_counted kmodlock 2
run 0 bpflock status
contains "kmodlock: restricted; complain mode"
run 0 bpflock bootstrap $KMOD_ONLY --kmodlock-profile=restricted
expect container "finit_module $MOD" EPERM
end
