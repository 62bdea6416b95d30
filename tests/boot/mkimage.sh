#!/bin/bash
# The boot-test disk: the cached Debian rootfs + bpflock's .deb installed with apt + the
# guest kernel's modules + the test driver, as an ext4 image; and three initramfs images
# made by Debian's own mkinitramfs in the rootfs: with bpflock (BPFLOCK_INITRAMFS=yes in
# /etc/default/bpflock), the same with policy/sealed.toml, and without (the package's default).
#   mkimage.sh SUITE KERNEL_DIR TESTOPS DEB -> target/boot/{disk,initrd-bpflock,initrd-sealed,initrd-plain}-SUITE
set -euo pipefail
suite=${1:?usage: mkimage.sh SUITE KERNEL_DIR TESTOPS DEB}; kdir=${2:?}; testops=${3:?}; deb=${4:?}
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/boot"
work="$out/work-$suite"
kver=$(cat "$kdir/version")

rm -rf "$work"
cp -a "$out/rootfs-$suite" "$work"
cleanup() { for m in dev/pts dev proc sys; do umount "$work/$m" 2>/dev/null || true; done; }
trap cleanup EXIT

# As a user installs it: apt, the package's maintainer scripts enable the units.
mount -t proc proc "$work/proc"; mount -t sysfs sysfs "$work/sys"; mount --bind /dev "$work/dev"
cp "$deb" "$work/tmp/"
chroot "$work" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./tmp/$(basename "$deb")" \
    >"$out/apt-$suite.log" 2>&1 || { tail -20 "$out/apt-$suite.log" >&2; exit 1; }
rm -f "$work/tmp/$(basename "$deb")"
for u in bpflock.service bpflock-forward.service; do
    systemctl --root="$work" is-enabled "$u" >/dev/null 2>&1 || { echo "mkimage: the package did not enable $u" >&2; exit 1; }
done

# The guest kernel's modules (dpkg -x'ed by fetch-kernel.sh) and its config (mkinitramfs reads it).
mkdir -p "$work/usr/lib/modules" "$work/boot"
cp -a "$kdir/root/lib/modules/$kver" "$work/usr/lib/modules/"
cp "$kdir/root/boot/config-$kver" "$work/boot/"

# The test driver and its units (tests/boot/boottest).
install -D -m 755 "$root/tests/boot/boottest" "$work/usr/local/sbin/boottest"
install -D -m 755 "$testops" "$work/usr/local/bin/testops"
cat > "$work/etc/systemd/system/boottest-setup.service" <<'UNIT'
[Unit]
Description=boot test: the scenario's policy
DefaultDependencies=no
After=systemd-remount-fs.service
Before=bpflock.service sysinit.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/boottest setup
[Install]
WantedBy=sysinit.target
UNIT
cat > "$work/etc/systemd/system/boottest.service" <<'UNIT'
[Unit]
Description=boot test: checks, then power off
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/boottest run
[Install]
WantedBy=multi-user.target
UNIT
# A service in a user namespace of its own (systemd sets it up: nslock must let pid 1 do it).
cat > "$work/etc/systemd/system/boottest-privusers.service" <<'UNIT'
[Unit]
Description=boot test: a service with PrivateUsers=yes
Before=boottest.service
[Service]
Type=oneshot
RemainAfterExit=yes
PrivateUsers=yes
ExecStart=/bin/true
[Install]
WantedBy=multi-user.target
UNIT
systemctl --root="$work" enable boottest-setup.service boottest.service boottest-privusers.service >/dev/null 2>&1
# No prompts, no login on the console, a fixed machine id.
systemctl --root="$work" mask systemd-firstboot.service serial-getty@ttyS0.service getty@tty1.service \
    apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1
systemd-machine-id-setup --root="$work" >/dev/null 2>&1
echo "bpflock-boottest" > "$work/etc/hostname"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$work/etc/fstab"

# Initramfs images: only what the virtio disk needs, with Debian's mkinitramfs.
sed -i 's/^MODULES=.*/MODULES=list/' "$work/etc/initramfs-tools/initramfs.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$work/etc/initramfs-tools/modules"
chroot "$work" mkinitramfs -o /boot/initrd-plain "$kver" 2>"$out/mkinitramfs-$suite.log"
sed -i 's/^BPFLOCK_INITRAMFS=.*/BPFLOCK_INITRAMFS=yes/' "$work/etc/default/bpflock"
chroot "$work" mkinitramfs -o /boot/initrd-bpflock "$kver" 2>>"$out/mkinitramfs-$suite.log"
# And with a sealed policy (scenario sealedinitramfs), the image's own policy put back.
policy="$work/etc/bpflock/policy.toml"
[ -e "$policy" ] && mv "$policy" "$policy.image"
install -D -m 644 "$root/policy/sealed.toml" "$policy"
chroot "$work" mkinitramfs -o /boot/initrd-sealed "$kver" 2>>"$out/mkinitramfs-$suite.log"
rm "$policy"
# And with usblock (scenario usb): a keyboard allowed by its class, nothing else; the USB
# controller's and keyboard's drivers in the initramfs, as a LUKS prompt would need them.
printf '%s\n' '[kimglock]' 'profile = "baseline"' '[usblock]' 'profile = "baseline"' 'allow = [{ class = "hid" }]' > "$policy"
cp "$work/etc/initramfs-tools/modules" "$out/modules.image"
printf 'xhci_pci\nusbhid\nhid_generic\n' >> "$work/etc/initramfs-tools/modules"
chroot "$work" mkinitramfs -o /boot/initrd-usb "$kver" 2>>"$out/mkinitramfs-$suite.log"
cp "$out/modules.image" "$work/etc/initramfs-tools/modules"
rm "$policy"
[ -e "$policy.image" ] && mv "$policy.image" "$policy"
sed -i 's/^BPFLOCK_INITRAMFS=.*/BPFLOCK_INITRAMFS=no/' "$work/etc/default/bpflock"
chroot "$work" lsinitramfs /boot/initrd-usb > "$out/initrd-usb-$suite.list"
grep -q 'udev/rules.d/70-bpflock-usb.rules$' "$out/initrd-usb-$suite.list" ||
    { echo "mkimage: usblock's udev rule is not in the initramfs" >&2; exit 1; }
# The one rule (docs/deploy.md): bpflock is in the initramfs exactly where it was asked for.
chroot "$work" lsinitramfs /boot/initrd-bpflock > "$out/initrd-bpflock-$suite.list"
chroot "$work" lsinitramfs /boot/initrd-plain > "$out/initrd-plain-$suite.list"
grep -qx 'usr/sbin/bpflock' "$out/initrd-bpflock-$suite.list" ||
    { echo "mkimage: BPFLOCK_INITRAMFS=yes, but bpflock is not in the initramfs" >&2; exit 1; }
! grep -qx 'usr/sbin/bpflock' "$out/initrd-plain-$suite.list" ||
    { echo "mkimage: BPFLOCK_INITRAMFS=no, but bpflock is in the initramfs" >&2; exit 1; }
cleanup
mv "$work/boot/initrd-bpflock" "$out/initrd-bpflock-$suite"
mv "$work/boot/initrd-plain" "$out/initrd-plain-$suite"
mv "$work/boot/initrd-sealed" "$out/initrd-sealed-$suite"
mv "$work/boot/initrd-usb" "$out/initrd-usb-$suite"

rm -f "$out/disk-$suite.img"
mke2fs -q -t ext4 -L root -d "$work" "$out/disk-$suite.img" 2G
rm -rf "$work"
# A USB stick for the usb scenario (no rule allows it).
mke2fs -q -t ext2 -F "$out/usbstick-$suite.img" 8M
echo "mkimage: $out/disk-$suite.img, initrd-{bpflock,sealed,usb,plain}-$suite ($kver)"
