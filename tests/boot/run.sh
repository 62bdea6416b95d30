#!/bin/bash
# Boot tests (docs/testing.md): a real Debian systemd system with bpflock's package
# installed by apt (BPFLOCK_DEB, from `make deb`), booted in QEMU once per scenario; tests/boot/boottest checks each from
# inside and prints BOOTTEST PASS/FAIL on the serial console.
#   run.sh SUITE KERNEL_DIR TESTOPS [SCENARIO...]
set -euo pipefail
suite=${1:?usage: run.sh SUITE KERNEL_DIR TESTOPS [SCENARIO...]}; kdir=${2:?}; testops=${3:?}; shift 3
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/boot"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(systemd initramfs badpolicy nopolicy nolsm nounit jail immutable sealed sealedinitramfs exitrd usb)

"$root/tests/boot/mkrootfs.sh" "$suite"
"$root/tests/boot/mkimage.sh" "$suite" "$kdir" "$testops" "${BPFLOCK_DEB:?BPFLOCK_DEB: the package to install (make deb)}"

# SCENARIO -> initramfs and extra kernel arguments.
initrd_of() {
    case $1 in
    initramfs) echo bpflock ;;
    sealedinitramfs) echo sealed ;; # bpflock and policy/sealed.toml
    usb) echo usb ;;                 # bpflock, a usblock policy and the USB drivers
    *) echo plain ;;
    esac
}
args_of() {
    case $1 in
    nolsm) echo "lsm=landlock,lockdown,yama,integrity,apparmor" ;; # Debian's list without bpf
    nounit) echo "systemd.mask=bpflock.service systemd.mask=bpflock-forward.service" ;;
    usb) echo "usbcore.authorized_default=0" ;;
    esac
}

# SCENARIO -> extra devices: usb boots with a keyboard and a USB stick plugged in.
devices_of() {
    case $1 in
    usb) echo "-device qemu-xhci,id=xhci -device usb-kbd,bus=xhci.0,port=1
        -drive file=$out/usbstick-$suite.img,if=none,id=stick,format=raw,snapshot=on
        -device usb-storage,bus=xhci.0,port=2,drive=stick" ;;
    esac
}

boot() {
    local s=$1 log="$out/console-$suite-$1.log"
    local start=$SECONDS
    # shellcheck disable=SC2046 # devices_of gives separate arguments
    set -- $(devices_of "$s")
    timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -no-reboot -display none -monitor none \
        -serial "file:$log" -kernel "$kdir/vmlinuz" -initrd "$out/initrd-$(initrd_of "$s")-$suite" \
        -drive "file=$out/disk-$suite.img,if=virtio,format=raw,snapshot=on" "$@" \
        -append "root=/dev/vda rw console=ttyS0 panic=-1 quiet bpflock.test=$s $(args_of "$s")" </dev/null >/dev/null 2>&1 || true
    echo "boot $s: $((SECONDS - start)) s" >> "$log.time"
}

# Two guests at a time (the machine has two cores).
rm -f "$out"/console-"$suite"-*.log*
for ((i = 0; i < ${#scenarios[@]}; i += 2)); do
    boot "${scenarios[i]}" &
    [ $((i + 1)) -lt ${#scenarios[@]} ] && boot "${scenarios[i + 1]}" &
    wait
done

failed=0
for s in "${scenarios[@]}"; do
    log="$out/console-$suite-$s.log"
    tr -d '\r' < "$log" | grep '^BOOTTEST INFO' || true
    result=$(tr -d '\r' < "$log" | grep -E "^BOOTTEST (PASS|FAIL) $s" || true)
    # Sealed: systemd cannot unmount the BPF filesystem, and must power off all the same.
    if [[ $s == sealed* && $result == "BOOTTEST PASS $s" ]] && ! tr -d '\r' < "$log" | grep -q "reboot: Power down"; then
        result="BOOTTEST FAIL $s: the poweroff did not complete (no \"reboot: Power down\")"
    fi
    # The exitrd payload (boottest): pid 1 runs it unsealed; sealed, its switch_root is refused.
    payload=$(tr -d '\r' < "$log" | grep -c "^BOOTTEST PAYLOAD pid 1$" || true)
    if [[ $s == exitrd && $result == "BOOTTEST PASS $s" && $payload == 0 ]]; then
        result="BOOTTEST FAIL $s: pid 1 did not run /run/initramfs/shutdown unsealed (the attack is not shown)"
    elif [[ $s == sealed && $payload != 0 ]]; then
        result="BOOTTEST FAIL $s: sealed, pid 1 switched root into /run/initramfs and ran its shutdown"
    fi
    if [[ $result == "BOOTTEST PASS $s" ]]; then
        echo "boot $suite $s ... ok ($(cat "$log.time" | grep -o '[0-9]\+ s$'))"
    else
        failed=1
        echo "boot $suite $s ... FAILED: ${result:-no result (see $log)}"
    fi
done
exit $failed
