# bpflock-suite: named-only
# Cases of the seal (docs/seal.md): each attack on bpflock's pins first shown to work
# unsealed, the protection really gone; then the pins sealed and every attack refused, to
# root, with the container still denied afterwards. A seal lasts until reboot: this suite
# runs last in its guest (after rootfs, in the rootdisk guests), and its sealed case cannot
# clean up. Sourced by /init after lib.sh.

SEALABLE="--policy $P/sealable.toml"
MODULE_OP="finit_module $MOD"

# released: every program of an unpinned set is gone (freeing a BPF filesystem releases its
# pins asynchronously; a bpfrestrict still attached would refuse the next bootstrap).
released() {
	i=0
	while [ -n "$(testops progs_list | head -1 | tr -d ' ')" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ $i -lt 300 ] || fail "programs still attached 30 s after their pins went: $(testops progs_list)"
}

# seal_bootstrap: the sealable policy, unsealed, and the container denied by it. (Its
# bpfrestrict refuses bpf(BPF_PROG_LOAD) to bpflock too: what is pinned goes first.)
seal_bootstrap() {
	bpflock remove --all >/dev/null 2>&1
	released
	grep -q " /sys/fs/bpf " /proc/mounts || mount -t bpf bpf /sys/fs/bpf || fail "mount bpffs"
	run 0 bpflock bootstrap $SEALABLE
	expect container devmem EPERM
	expect host "userns_as 1000" EPERM
}

# bpflock_process: a bpflock that stays (the forwarder: events to stderr without journald).
FWD=""
bpflock_process() {
	bpflock forward 2>/tmp/forward.log &
	FWD=$!
	i=0
	while [ "$(readlink /proc/$FWD/exe)" != /bin/bpflock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 1
	kill -0 $FWD 2>/dev/null || fail "the forwarder did not stay: $(cat /tmp/forward.log)"
}

begin seal_attacks_work_unsealed
seal_bootstrap
# An unmount propagates by mountpoint: a private copy of /sys with a tmpfs on its fs/bpf,
# put in /sys's peer group (MOVE_MOUNT_SET_GROUP); unmounting that tmpfs unmounts what
# sits on the same dentry in every peer — the system's /sys/fs/bpf.
mount --make-rshared /sys || fail "make-rshared /sys"
mkdir -p /tmp/sysa /tmp/sysb
mount --bind /sys /tmp/sysa && mount --bind /sys /tmp/sysb && mount --make-private /tmp/sysb &&
	mount -t tmpfs x /tmp/sysb/fs/bpf || fail "the copies of /sys"
expect host "set_group /tmp/sysa:/tmp/sysb" ok
expect host "umount /tmp/sysb/fs/bpf" ok
eventually container devmem ok
grep -q " /sys/fs/bpf bpf " /proc/mounts && fail "the system's /sys/fs/bpf is still mounted"
umount /tmp/sysb; umount /tmp/sysa
mount --make-rprivate /sys
seal_bootstrap
# Removing a directory from a namespace where nothing is mounted on it detaches whatever
# other namespaces mount there (detach_mounts: no unmount is asked) — /sys itself.
expect host "ns_rmdir /sys:/sys" ok
eventually container devmem ok
mkdir -p /sys && mount -t sysfs sysfs /sys || fail "mount sysfs again"
seal_bootstrap
# The same after tucking: a bind made on fs/bpf of a copy of /sys in its peer group
# propagates beneath the system's /sys/fs/bpf, which then hangs from the bind's root
# directory; removing that directory from a private namespace detaches it.
mount --make-shared /sys || fail "make-shared /sys"
mkdir -p /tmp/t /tmp/sysa && mount -t tmpfs t /tmp/t && mkdir -p /tmp/t/sub && mount --bind /sys /tmp/sysa ||
	fail "the copy of /sys"
expect host "bind_mount /tmp/t/sub:/tmp/sysa/fs/bpf" ok
expect host "ns_rmdir /sys:/tmp/t/sub" ok
eventually container devmem ok
umount -l /tmp/sysa; umount -l /tmp/t
while grep -q " /sys/fs/bpf " /proc/mounts; do umount -l /sys/fs/bpf || break; done
mount --make-private /sys
seal_bootstrap
# Moving the mount that holds the pins (a lazy unmount racing its check would take them
# along): mount(2) with MS_MOVE and move_mount(2) work; pivot_root(2) in the system's
# namespace reaches the kernel's own checks (EINVAL: not a mount point).
mkdir -p /tmp/pinsmoved /tmp/notmnt
expect host "mount_move /sys/fs/bpf:/tmp/pinsmoved" ok
expect host "move_mount /tmp/pinsmoved:/sys/fs/bpf" ok
expect host "pivot_root /tmp/notmnt:/tmp/notmnt" EINVAL
grep -q " /sys/fs/bpf bpf " /proc/mounts || fail "the pins' mount did not move back"
# Removing a protection's pins: the container is no longer denied.
rm -r $ROOT/kimglock || fail "rm -r kimglock failed unsealed"
eventually container devmem ok
seal_bootstrap
# Rewriting a policy map: nslock's exempt list takes testops, which may then create user
# namespaces unprivileged.
expect host "exempt $ROOT/nslock/maps/exempt:/bin/testops" ok
expect host "userns_as 1000" ok
expect host "obj_get_rw $ROOT/kimglock/config" ok
expect host "obj_get_rw $ROOT/kimglock/locked_down" ok
expect host progs_get ok
# Links by id: opened; the kernel cannot detach an LSM (tracing) link, or it detaches it.
got=$(testops links_detach)
case "$got" in ok | EOPNOTSUPP) ;; *) fail "links_detach unsealed: $got" ;; esac
seal_bootstrap
# A bpflock process: traced, its memory opened, a descriptor taken; bpflock run traced.
bpflock_process
expect host "ptrace_attach $FWD" ok
expect host "ptrace_attach 1" ok
expect host "proc_mem $FWD" ok
expect host "getfd $FWD" ok
expect host "exec_traced /bin/bpflock" ok
expect host "set_exe /bin/bpflock" EBUSY
kill $FWD; wait $FWD
# The executable bpfrestrict and the seal trust: opened for writing, a link to it removed.
expect host "open_write /bin/bpflock" ok
ln /bin/bpflock /bin/bpflock-link && rm /bin/bpflock-link || fail "a link to the executable: not removed"
# Unmounting the BPF filesystem frees every pin: the container is no longer denied.
expect host "umount /sys/fs/bpf" ok
eventually container devmem ok
seal_bootstrap
expect host "umount_lazy /sys/fs/bpf" ok
eventually container devmem ok
seal_bootstrap
# From a new mount namespace whose mounts are peers of the system's (as systemd shares /):
# the unmount propagates to the system's.
mount --make-rshared /sys || fail "make-rshared /sys"
expect host "ns_umount shared:/sys/fs/bpf" ok
eventually container devmem ok
seal_bootstrap
# The same with this namespace's copy of /sys/fs/bpf made private first: unmounting /sys
# lazily still propagates, through the peers of its parent, to the system's.
expect host "ns_privchild_umount_lazy /sys:/sys/fs/bpf" ok
eventually container devmem ok
seal_bootstrap
# A lazy unmount of /sys takes /sys/fs/bpf with it.
expect host "umount_lazy /sys" ok
eventually container devmem ok
mount -t sysfs sysfs /sys || fail "mount sysfs"
seal_bootstrap
# bpflock itself: a weaker policy, and remove.
bpflock remove --all >/dev/null 2>&1
run 0 bpflock bootstrap $SEALABLE --kimglock-profile=allow
expect container devmem ok
seal_bootstrap
run 0 bpflock remove kimglock
eventually container devmem ok
# Sealing from a bpflock executable off the root filesystem (its copy on a tmpfs): refused,
# nothing pinned. The seal trusts the executable by (device, inode); another filesystem can
# be unmounted and mounted again with another file under the same pair. Control: the same
# policy is sealed from /bin/bpflock in seal_refuses_root.
bpflock remove --all >/dev/null 2>&1
released
mkdir -p /tmp/offroot && mount -t tmpfs o /tmp/offroot && cp /bin/bpflock /tmp/offroot/bpflock || fail "copy bpflock to a tmpfs"
run 1 /tmp/offroot/bpflock bootstrap $SEALABLE --seal
contains "on the root filesystem"
not_pinned kimglock
umount /tmp/offroot

end

begin seal_refuses_root
mount --make-rshared /sys
bpflock remove --all >/dev/null 2>&1
released
# Made before the seal: a copy of /sys with a tmpfs on its fs/bpf, in /sys's peer group
# (the join is refused once sealed, below): its unmount would propagate to /sys/fs/bpf.
mkdir -p /tmp/sysa /tmp/sysb
mount --bind /sys /tmp/sysa && mount --bind /sys /tmp/sysb && mount --make-private /tmp/sysb &&
	mount -t tmpfs x /tmp/sysb/fs/bpf || fail "the copies of /sys"
expect host "set_group /tmp/sysa:/tmp/sysb" ok
run 0 bpflock bootstrap $SEALABLE --seal
contains "sealed until reboot"
pinned seal/sb_umount; pinned seal/bpf_map; pinned seal/inode_permission
run 0 bpflock status
contains "sealed until reboot"
contains "kimglock: baseline"
bpflock status --json | grep -q '"prog_id": [0-9]' || fail "status reads no program id while sealed"
expect container devmem EPERM
# The pin tree.
rm -rf $ROOT/kimglock 2>/dev/null && fail "rm -r kimglock was allowed"
rm -f $ROOT/kimglock/locked_down 2>/dev/null && fail "rm of a link pin was allowed"
mv $ROOT/kimglock $ROOT/moved 2>/dev/null && fail "renaming kimglock was allowed"
pinned kimglock/locked_down
# Unmounts: the BPF filesystem, lazily, from shared and private namespaces, and /sys.
expect host "umount /sys/fs/bpf" EPERM
expect host "umount_lazy /sys/fs/bpf" EPERM
expect host "umount_lazy /sys" EPERM
expect host "ns_umount shared:/sys/fs/bpf" EPERM
expect host "ns_umount_lazy shared:/sys" EPERM
expect host "ns_umount private:/sys/fs/bpf" EPERM
expect host "ns_privchild_umount_lazy /sys:/sys/fs/bpf" EPERM
# Controls: a private copy of /sys goes (it frees nothing), other lazy unmounts work, and a
# container started as runc does (its old root detached lazily) starts.
expect host "ns_umount_lazy private:/sys" ok
mkdir -p /tmp/sealmnt && mount -t tmpfs t /tmp/sealmnt && mkdir /tmp/sealmnt/sub && mount -t tmpfs u /tmp/sealmnt/sub
expect host "umount_lazy /tmp/sealmnt" ok
got=$(testops container "echo inside" 2>&1)
echo "$got" | grep -q "^inside" || fail "a runc-like container did not start sealed: $got"
# Unmount propagation by mountpoint: the copy made before the seal cannot unmount its
# tmpfs, plainly or lazily; control: it goes once that copy is private again. Sealed, a
# copy holding such a mount cannot join /sys's peer group (control: the tmpfs of that
# private copy goes).
expect host "umount /tmp/sysb/fs/bpf" EPERM
expect host "umount_lazy /tmp/sysb" EPERM
mount --make-private /tmp/sysb || fail "make-private /tmp/sysb"
expect host "umount /tmp/sysb/fs/bpf" ok
mount -t tmpfs x /tmp/sysb/fs/bpf || fail "mount tmpfs on the private copy"
expect host "set_group /tmp/sysa:/tmp/sysb" EPERM
expect host "umount /tmp/sysb/fs/bpf" ok
umount /tmp/sysb && umount /tmp/sysa || fail "the copies of /sys did not go"
# Removing a directory the pins hang from, from a private namespace (detach_mounts);
# tucking a mount under them through a shared copy of /sys (mount(2) and move_mount(2)).
# Controls: the same bind onto a private copy, an unrelated mountpoint removed so.
expect host "ns_rmdir /sys:/sys" EPERM
mkdir -p /tmp/t /tmp/sysa /tmp/sysp /tmp/emptymp && mount -t tmpfs t /tmp/t && mkdir -p /tmp/t/sub &&
	mount --bind /sys /tmp/sysa && mount --bind /sys /tmp/sysp && mount --make-private /tmp/sysp ||
	fail "the copies of /sys"
expect host "bind_mount /tmp/t/sub:/tmp/sysa/fs/bpf" EPERM
expect host "move_mount /tmp/t:/tmp/sysa/fs/bpf" EPERM
expect host "bind_mount /tmp/t/sub:/tmp/sysp/fs/bpf" ok
mount -t tmpfs e /tmp/emptymp || fail "mount tmpfs"
expect host "ns_rmdir /tmp/emptymp:/tmp/emptymp" ok
umount /tmp/sysp/fs/bpf; umount /tmp/sysp; umount /tmp/sysa
# pid 1 (whose mount namespace is the system's, and who may move mounts): not traced.
expect host "ptrace_attach 1" EPERM
# Moves: the pins' mount and /sys holding it, by mount(2) and move_mount(2), and
# pivot_root(2) in the system's namespace; control: a mount holding no pins moves. (The
# kernel moves no mount whose parent is shared: /sys made private again first, as root can.)
mount --make-rprivate /sys || fail "make-rprivate /sys"
mkdir -p /tmp/pinsmoved /tmp/notmnt /tmp/movable
expect host "mount_move /sys/fs/bpf:/tmp/pinsmoved" EPERM
expect host "move_mount /sys/fs/bpf:/tmp/pinsmoved" EPERM
expect host "move_mount /sys:/tmp/pinsmoved" EPERM
expect host "pivot_root /tmp/notmnt:/tmp/notmnt" EPERM
mount -t tmpfs m /tmp/movable || fail "mount tmpfs"
expect host "move_mount /tmp/movable:/tmp/pinsmoved" ok
grep -q " /sys/fs/bpf bpf " /proc/mounts || fail "the pins' mount moved"
# The objects.
expect host "exempt $ROOT/nslock/maps/exempt:/bin/testops" EPERM
expect host "userns_as 1000" EPERM
expect host "obj_get_rw $ROOT/kimglock/config" EPERM
expect host "obj_get_ro $ROOT/kimglock/config" ok
expect host "obj_get_rw $ROOT/kimglock/locked_down" EPERM
expect host "obj_get_ro $ROOT/kimglock/locked_down" EPERM
expect host links_detach EPERM
expect host progs_get EPERM
# The executable (no bpflock runs: else the kernel's ETXTBSY comes first), then its processes.
expect host "open_write /bin/bpflock" EPERM
bpflock_process
expect host "ptrace_attach $FWD" EPERM
expect host "proc_mem $FWD" EACCES
expect host "getfd $FWD" EPERM
expect host "exec_traced /bin/bpflock" EPERM
# Taking the executable's name (PR_SET_MM_EXE_FILE): refused before the kernel's own checks.
expect host "set_exe /bin/bpflock" EPERM
ln /bin/bpflock /bin/bpflock-link || fail "a hard link to the executable (harmless) was refused"
rm /bin/bpflock-link 2>/dev/null && fail "removing a link to the executable was allowed"
mv /bin/bpflock /bin/bpflock-moved 2>/dev/null && { mv /bin/bpflock-moved /bin/bpflock; fail "renaming the executable was allowed"; }
# Loading kernel code: a module (kmodlock restricted).
expect host "$MODULE_OP" EPERM
# bpflock itself: a weaker policy, remove.
run 1 bpflock bootstrap $SEALABLE --kimglock-profile=allow
contains "sealed until reboot"
run 1 bpflock remove --all
contains "sealed until reboot"
# After all of it: still denied, and the forwarder, still running, reported the refusals.
expect container devmem EPERM
sleep 1
kill -0 $FWD 2>/dev/null || fail "the forwarder died sealed: $(tail -3 /tmp/forward.log)"
[ "$(denied seal)" -gt 0 ] || fail "no seal denial counted"
if has_journald; then
	journal_json | grep -q '"BPFLOCK_PROTECTION":"seal"' || fail "no seal event in the journal: $(journal_json | tail -2)"
else
	grep -q "seal" /tmp/forward.log || fail "no seal event forwarded: $(tail -3 /tmp/forward.log)"
fi
# The seal cannot be undone: nothing to clean up (remove is refused), report as is.
report
