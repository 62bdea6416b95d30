# Cases of fslock: kernel tunables and mounts from containers, the read-only root
# (docs/fslock.md). Each escape is first shown to work with bpflock absent (the payload
# runs as host root), then refused with the lock on, next to its control on the host.
# Sourced by /init after lib.sh.

FSLOCK="--fslock-profile=baseline --kimglock-profile=allow --bpfrestrict-profile=allow"

begin fslock_core_pattern
make_payload
expect container "write /proc/sys/kernel/core_pattern:|/tmp/payload.sh" ok
crash_in_container
escaped "core_pattern without bpflock"
echo core > /proc/sys/kernel/core_pattern
run 0 bpflock bootstrap $FSLOCK
pinned fslock/file_open
expect container "write /proc/sys/kernel/core_pattern:|/tmp/payload.sh" EPERM
crash_in_container
not_escaped "core_pattern with fslock"
[ "$(cat /proc/sys/kernel/core_pattern)" = core ] || fail "core_pattern changed: $(cat /proc/sys/kernel/core_pattern)"
# Control: the host sets it.
expect host "write /proc/sys/kernel/core_pattern:core" ok
end

begin fslock_modprobe
make_payload
printf '\377\377\377\377bpflock' > /tmp/unknown-format; chmod 755 /tmp/unknown-format
expect container "write /proc/sys/kernel/modprobe:/tmp/payload.sh" ok
in_container /tmp/unknown-format 2>/dev/null
if [ -s /tmp/escaped ]; then escaped "modprobe without bpflock"
else
	# Kernels that no longer ask for a module of an unknown format: a filesystem type.
	in_container mount -t bpflock-none none /tmp 2>/dev/null
	escaped "modprobe without bpflock (fs- module)"
fi
echo /bin/modprobe > /proc/sys/kernel/modprobe
run 0 bpflock bootstrap $FSLOCK
expect container "write /proc/sys/kernel/modprobe:/tmp/payload.sh" EPERM
in_container /tmp/unknown-format 2>/dev/null; in_container mount -t bpflock-none none /tmp 2>/dev/null
not_escaped "modprobe with fslock"
[ "$(cat /proc/sys/kernel/modprobe)" = /bin/modprobe ] || fail "modprobe changed: $(cat /proc/sys/kernel/modprobe)"
expect host "write /proc/sys/kernel/modprobe:/bin/modprobe" ok
end

begin fslock_uevent_helper
if [ ! -e /sys/kernel/uevent_helper ]; then
	skip "this kernel is built without CONFIG_UEVENT_HELPER (no /sys/kernel/uevent_helper, no /proc/sys/kernel/hotplug)"
else
	make_payload
	expect container "write /sys/kernel/uevent_helper:/tmp/payload.sh" ok
	in_container sh -c 'echo change > /sys/class/mem/null/uevent'
	escaped "uevent_helper without bpflock"
	echo > /sys/kernel/uevent_helper
	run 0 bpflock bootstrap $FSLOCK
	expect container "write /sys/kernel/uevent_helper:/tmp/payload.sh" EPERM
	expect container "write /proc/sys/kernel/hotplug:/tmp/payload.sh" EPERM
	expect host "write /sys/kernel/uevent_helper:" ok
fi
end

# CVE-2022-0492: a cgroup v1 hierarchy's release_agent runs as host root when a cgroup
# with notify_on_release empties.
begin fslock_release_agent
make_payload
mkdir -p /tmp/cg1
if ! in_container mount -t cgroup -o none,name=bpflock cgroup /tmp/cg1 2>/tmp/cg1.err; then
	skip "this kernel cannot mount a cgroup v1 hierarchy: $(cat /tmp/cg1.err)"
else
	expect container "write /tmp/cg1/release_agent:/tmp/payload.sh" ok
	mkdir /tmp/cg1/x
	expect container "write /tmp/cg1/x/notify_on_release:1" ok
	in_container sh -c 'echo $$ > /tmp/cg1/x/cgroup.procs'
	escaped "release_agent without bpflock"
	rmdir /tmp/cg1/x 2>/dev/null; echo > /tmp/cg1/release_agent
	run 0 bpflock bootstrap $FSLOCK
	expect container "write /tmp/cg1/release_agent:/tmp/payload.sh" EPERM
	mkdir /tmp/cg1/x
	expect container "write /tmp/cg1/x/notify_on_release:1" EPERM
	in_container sh -c 'echo $$ > /tmp/cg1/x/cgroup.procs'
	not_escaped "release_agent with fslock"
	# Mounting a hierarchy is refused too (mount_cgroup1); the host keeps both.
	mkdir -p /tmp/cg1b
	expect container "mount cgroup:cgroup:/tmp/cg1b:none,name=bpflock2" EPERM
	expect host "write /tmp/cg1/x/notify_on_release:1" ok
	rmdir /tmp/cg1/x 2>/dev/null
	umount /tmp/cg1
fi
end

# The release agent is also a mount option: remounting a hierarchy sets it without writing
# the file, and a new hierarchy can be mounted with it.
begin fslock_release_agent_by_mount_options
mkdir -p /tmp/cg1 /tmp/cg1c
if ! mount -t cgroup -o none,name=bpflock cgroup /tmp/cg1 2>/tmp/cg1.err; then
	skip "this kernel cannot mount a cgroup v1 hierarchy: $(cat /tmp/cg1.err)"
else
	expect container "remount_data /tmp/cg1:none,name=bpflock,release_agent=/tmp/payload.sh" ok
	[ "$(cat /tmp/cg1/release_agent)" = /tmp/payload.sh ] || fail "without bpflock the remount did not set release_agent: $(cat /tmp/cg1/release_agent)"
	echo > /tmp/cg1/release_agent
	run 0 bpflock bootstrap $FSLOCK
	expect container "remount_data /tmp/cg1:none,name=bpflock,release_agent=/tmp/payload.sh" EPERM
	[ -z "$(cat /tmp/cg1/release_agent)" ] || fail "the remount set release_agent: $(cat /tmp/cg1/release_agent)"
	# mount_cgroup1 allowed alone: a new hierarchy carrying release_agent= is still refused.
	run 0 bpflock bootstrap $FSLOCK --fslock-allow=mount_cgroup1
	expect container "mount cgroup:cgroup:/tmp/cg1c:none,name=bpflock3,release_agent=/tmp/payload.sh" EPERM
	run 0 bpflock bootstrap $FSLOCK --fslock-allow=mount_cgroup1,release_agent
	expect container "mount cgroup:cgroup:/tmp/cg1c:none,name=bpflock3" ok
	umount /tmp/cg1
fi
end

# The host's disk read or written raw, without mounting it (a loop device here).
begin fslock_block_device_raw
modprobe loop 2>/dev/null
truncate -s 4M /tmp/blk.img
if ! losetup /dev/loop0 /tmp/blk.img 2>/tmp/loop.err; then
	skip "no loop device: $(cat /tmp/loop.err)"
else
	expect container "write /dev/loop0:escape" ok
	expect container "open_read /dev/loop0" ok
	run 0 bpflock bootstrap $FSLOCK
	expect container "write /dev/loop0:escape" EPERM
	expect container "open_read /dev/loop0" EPERM
	expect host "write /dev/loop0:host" ok
	run 0 bpflock bootstrap $FSLOCK --fslock-allow=blockdev
	expect container "open_read /dev/loop0" ok
	losetup -d /dev/loop0
fi
rm -f /tmp/blk.img
end

begin fslock_sysrq
n=$(dmesg | grep -c "sysrq: HELP")
expect container "write /proc/sysrq-trigger:h" ok
[ "$(dmesg | grep -c "sysrq: HELP")" -gt "$n" ] || fail "sysrq without bpflock: no HELP in the kernel log"
run 0 bpflock bootstrap $FSLOCK
expect container "write /proc/sysrq-trigger:h" EPERM
expect host "write /proc/sysrq-trigger:h" ok
end

# A container registers an interpreter; the host then runs a matching file: the
# container's program runs as host root.
begin fslock_binfmt_misc
make_payload
modprobe binfmt_misc 2>/dev/null
mkdir -p /tmp/bm
printf '\376\376BPFLOCK' > /tmp/bm-prog; chmod 755 /tmp/bm-prog
in_container mount -t binfmt_misc binfmt_misc /tmp/bm || fail "mount binfmt_misc"
expect container "write /tmp/bm/register::bpflock:M::\\xfe\\xfeBPFLOCK::/tmp/payload.sh:" ok
/tmp/bm-prog 2>/dev/null
escaped "binfmt_misc without bpflock"
echo -1 > /tmp/bm/bpflock
run 0 bpflock bootstrap $FSLOCK
expect container "write /tmp/bm/register::bpflock:M::\\xfe\\xfeBPFLOCK::/tmp/payload.sh:" EPERM
/tmp/bm-prog 2>/dev/null
not_escaped "binfmt_misc with fslock"
expect host "write /tmp/bm/register::bpflock:M::\\xfe\\xfeBPFLOCK::/tmp/payload.sh:" ok
echo -1 > /tmp/bm/bpflock
umount /tmp/bm
end

# The general operations, and the most specific name wins: allowing proc_sys leaves
# core_pattern refused.
begin fslock_proc_sys_and_sysfs
expect container "write /proc/sys/kernel/domainname:bpflock" ok
expect container "write /sys/kernel/mm/transparent_hugepage/enabled:never" ok
run 0 bpflock bootstrap $FSLOCK
expect container "write /proc/sys/kernel/domainname:bpflock" EPERM
expect container "write /sys/kernel/mm/transparent_hugepage/enabled:never" EPERM
expect host "write /proc/sys/kernel/domainname:bpflock" ok
expect host "write /sys/kernel/mm/transparent_hugepage/enabled:never" ok
# Reads are untouched.
expect container "open_read /proc/sys/kernel/core_pattern" ok
run 0 bpflock bootstrap $FSLOCK --fslock-allow=proc_sys
expect container "write /proc/sys/kernel/domainname:bpflock" ok
expect container "write /proc/sys/kernel/core_pattern:core" EPERM
expect container "write /proc/sys/kernel/poweroff_cmd:/sbin/poweroff" EPERM
end

# A container's own network sysctls (proc_sys_net) are not the host's: a container that
# shares the host's network namespace writes the host's, under proc_sys.
begin fslock_proc_sys_net
own_netns() { unshare --pid --net --fork testops "$@" 2>&1; }
[ "$(own_netns write /proc/sys/net/ipv4/ip_forward:1)" = ok ] || fail "without bpflock, a container's own ip_forward"
run 0 bpflock bootstrap $FSLOCK
got=$(own_netns write /proc/sys/net/ipv4/ip_forward:1); [ "$got" = EPERM ] || fail "own netns under baseline: got $got, want EPERM"
run 0 bpflock bootstrap $FSLOCK --fslock-allow=proc_sys_net
got=$(own_netns write /proc/sys/net/ipv4/ip_forward:1); [ "$got" = ok ] || fail "own netns with proc_sys_net: got $got, want ok"
expect container "write /proc/sys/net/ipv4/ip_forward:0" EPERM
expect host "write /proc/sys/net/ipv4/ip_forward:0" ok
end

# Matched by filesystem and dentries, not by path: a second procfs, /proc/sys bind-mounted
# elsewhere, and a descriptor opened before the lock.
begin fslock_second_procfs_and_bind_mount
mkdir -p /tmp/proc2 /tmp/sys2
run 0 bpflock bootstrap $FSLOCK
in_container sh -c 'mount -t proc proc /tmp/proc2 && testops write /tmp/proc2/sys/kernel/core_pattern:x' > /tmp/out 2>&1
[ "$(cat /tmp/out)" = EPERM ] || fail "through a second procfs: $(cat /tmp/out)"
mount --bind /proc/sys /tmp/sys2
expect container "write /tmp/sys2/kernel/core_pattern:x" EPERM
expect container "write /tmp/sys2/kernel/domainname:x" EPERM
umount /tmp/sys2; umount /tmp/proc2 2>/dev/null
# A descriptor opened by the host before bootstrap, written from a container.
run 0 bpflock remove --all
exec 3>/proc/sys/kernel/domainname
run 0 bpflock bootstrap $FSLOCK
got=$(unshare --pid --fork testops write_held /proc/sys/kernel/domainname:x 2>&1)
[ "$got" = EPERM ] || fail "a held descriptor: got $got, want EPERM"
exec 3>&-
end

begin fslock_mount_block_device_and_kernel_filesystems
mkdir -p /tmp/m
# The host's disk (the harness's read-only disk), by mount(2) and by fsopen/fsmount.
if [ -b /dev/vda ]; then
	expect container "mount ext2:/dev/vda:/tmp/m:ro" ok
	expect container "fsmount ext2:/dev/vda:ro" ok
fi
expect container "mount debugfs:debugfs:/tmp/m" ok
expect container "fsmount debugfs" ok
run 0 bpflock bootstrap $FSLOCK
if [ -b /dev/vda ]; then
	expect container "mount ext2:/dev/vda:/tmp/m:ro" EPERM
	expect container "fsmount ext2:/dev/vda:ro" EPERM
	expect host "mount ext2:/dev/vda:/tmp/m:ro" ok
else
	skip "no disk attached"
fi
for fs in debugfs tracefs securityfs bpf; do
	expect container "mount $fs:$fs:/tmp/m" EPERM
	expect container "fsmount $fs" EPERM
done
modprobe configfs 2>/dev/null
grep -qw configfs /proc/filesystems && expect container "mount configfs:configfs:/tmp/m" EPERM
expect host "mount debugfs:debugfs:/tmp/m" ok
expect host "fsmount bpf" ok
# What a container runtime mounts is not refused.
expect container "mount tmpfs:tmpfs:/tmp/m" ok
expect container "mount proc:proc:/tmp/m" ok
expect container "mount sysfs:sysfs:/tmp/m" ok
expect container "fsmount tmpfs" ok
end

# A container started the way runc starts one: new mount and pid namespaces, its own
# proc, sys and dev, pivot_root. It runs under baseline, and its procfs is still locked.
begin fslock_container_runtime_keeps_working
run 0 bpflock bootstrap $FSLOCK
run 0 testops container "testops write /proc/sys/kernel/core_pattern:x; exit 0"
contains "EPERM"
contains "container: started"
run 0 testops container "cat /proc/self/mounts"
contains "proc /proc proc"
contains "sysfs /sys sysfs"
end

# rootfs = "ro" where / is the initramfs: nothing to lock yet (bpflock.service locks the
# real root after switch_root); the rest of the policy applies. The real-root cases are
# the rootfs suite's (a guest booted into a disk).
begin fslock_rootfs_in_the_initramfs_is_deferred
run 0 bpflock bootstrap $FSLOCK --fslock-rootfs=ro
contains "the initramfs"
expect container "write /proc/sys/kernel/core_pattern:core" EPERM
touch /rootfs-still-writable || fail "the initramfs root was locked"
rm -f /rootfs-still-writable
run 0 bpflock status
contains "not applied"
end

begin fslock_complain_refuses_nothing
run 0 bpflock bootstrap $FSLOCK --fslock-mode=complain
expect container "write /proc/sys/kernel/domainname:bpflock" ok
expect container "mount debugfs:debugfs:/tmp/m" ok
complain_counted fslock 2
end
