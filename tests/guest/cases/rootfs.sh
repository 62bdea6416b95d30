# bpflock-suite: named-only
# Cases of fslock's rootfs = "ro" on a real block-device root (docs/fslock.md). The guest
# boots with bpflock.rootdisk: /init copies itself onto a virtio disk and switch_roots
# into it, so / is an ext2 filesystem on /dev/vdX. Sourced by /init after lib.sh.

ROOTDEV=$(awk '$2 == "/" { dev = $1 } END { print dev }' /proc/mounts)
RO="--fslock-profile=allow --fslock-rootfs=ro --kimglock-profile=allow --bpfrestrict-profile=allow"

begin fslock_rootfs_ro_refuses_root
[ -b "$ROOTDEV" ] || fail "/ is not on a block device: $ROOTDEV ($(grep ' / ' /proc/mounts | tr '\n' ' '))"
echo x > /rootfs-file
# Without bpflock, root writes the root filesystem, reconfigures it and writes its disk.
expect host "write /rootfs-file:y" ok
expect host "remount /" ok
expect host "fspick_rw /" ok
expect host "write $ROOTDEV:" ok
expect host "chattr /rootfs-file" ok
expect host "blk_flush $ROOTDEV" ok
run 0 bpflock bootstrap $RO
contains "rootfs read-only: $ROOTDEV"
pinned fslock/rootfs_inode_setattr; pinned fslock/sb_remount
# Root in the initial pid namespace, and a container.
expect host "write /rootfs-file:z" EPERM
expect container "write /rootfs-file:z" EPERM
for cmd in "touch /rootfs-new" "mkdir /rootfs-dir" "rm /rootfs-file" "mv /rootfs-file /rootfs-moved" \
	"chmod 600 /rootfs-file" "chown 1 /rootfs-file" "touch /rootfs-file" "ln -s x /rootfs-link" \
	"ln /rootfs-file /rootfs-hard" "truncate -s 0 /rootfs-file" "mknod /rootfs-fifo p"; do
	$cmd 2>/dev/null && fail "allowed on the read-only root: $cmd"
done
[ "$(cat /rootfs-file)" = y ] || fail "/rootfs-file changed: $(cat /rootfs-file)"
# Reconfiguring the superblock, by mount(2) and by the new mount API, and its disk.
expect host "remount /" EPERM
expect host "fspick_rw /" EPERM
expect host "write $ROOTDEV:" EPERM
# chattr through a descriptor opened read-only: file attributes are written to the disk.
expect host "chattr /rootfs-file" EPERM
# ioctls on its disk that change what the root is made of (here BLKFLSBUF, which drops its
# cached blocks; LOOP_CHANGE_FD, BLKPG, SG_IO alike); control: one that reads.
expect host "blk_flush $ROOTDEV" EPERM
expect host "blk_size $ROOTDEV" ok
# Refused by bpflock, not by the mount: / is still mounted read-write.
grep -q " / ext2 rw" /proc/mounts || fail "/ is not mounted rw: $(grep ' / ' /proc/mounts)"
# Other filesystems stay writable, and reads work.
echo ok > /tmp/other || fail "a write to /tmp was refused"
expect host "open_read /rootfs-file" ok
run 0 bpflock status
contains "rootfs read-only"
run 0 bpflock remove --all
rm /rootfs-file || fail "the root stayed locked after remove"
end

# A descriptor opened for writing before bootstrap cannot write after it, directly or
# through a shared mapping made writable.
begin fslock_rootfs_ro_held_descriptor
printf '%4096s' x > /rootfs-held
exec 3<>/rootfs-held
expect host "mprotect_held /rootfs-held" ok
run 0 bpflock bootstrap $RO
got=$(testops write_held /rootfs-held:y 2>&1)
[ "$got" = EPERM ] || fail "a held descriptor wrote the root: $got"
expect host "mprotect_held /rootfs-held" EPERM
exec 3>&-
run 0 bpflock remove --all
rm -f /rootfs-held
end

# The host's root disk mounted from a container (fslock baseline, not rootfs): it mounts
# without bpflock, and is refused with it; the host mounts it beside.
begin fslock_container_mounts_the_root_disk
mkdir -p /tmp/m
expect container "mount ext2:$ROOTDEV:/tmp/m" ok
run 0 bpflock bootstrap --fslock-profile=baseline --kimglock-profile=allow --bpfrestrict-profile=allow
expect container "mount ext2:$ROOTDEV:/tmp/m" EPERM
expect container "open_read $ROOTDEV" EPERM
expect host "mount ext2:$ROOTDEV:/tmp/m" ok
end
