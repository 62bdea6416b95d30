# Cases of usblock: USB devices refused unless the rules allow them (docs/usblock.md).
# The host plugs devices with QEMU's device_add when asked on the console (tests/guest.rs:
# `BPFLOCK-QEMU SEQ plug NAME`): kbd1 (usb-kbd, port 1), stick1 (usb-storage, port 2),
# net1 (usb-net, port 3); kbd0 is a keyboard plugged at boot (port 4). The guest has no
# udev: `testops usb_listen` does what udev/70-bpflock-usb.rules does. Ids are read from
# sysfs in the controls, never assumed. Each refusal is first shown to happen without bpflock.

USBLOCK="--kimglock-profile=allow --bpfrestrict-profile=allow"
USBLOG=/tmp/usb-authorize.log
QEMU_SEQ=0
qemu_req() { QEMU_SEQ=$((QEMU_SEQ + 1)); echo "BPFLOCK-QEMU $QEMU_SEQ $1 $2"; }
usb_names() { ls /sys/bus/usb/devices 2>/dev/null | grep -v -e : -e '^usb' | sort; }
# within SECONDS CMD...: CMD succeeds within SECONDS (TCG: devices are slow to enumerate).
within() {
	n=$(($1 * 10)); shift; i=0
	while [ $i -lt $n ]; do "$@" && return 0; sleep 0.1; i=$((i + 1)); done
	return 1
}
new_device() {
	for d in $(usb_names); do echo "$USB_BEFORE" | grep -qx "$d" || { DEV=/sys/bus/usb/devices/$d; [ -e "$DEV/descriptors" ] && return 0; }; done
	return 1
}
# plug_undecided NAME: the host plugs NAME; $DEV is its directory, $DEVPATH its path as
# udev names it.
plug_undecided() {
	USB_BEFORE=$(usb_names); DEV=""
	: > $USBLOG
	qemu_req plug "$1"
	within 90 new_device || { fail "plug $1: no new USB device in 90 s (qmp-GUEST.log on the host)"; return 1; }
	DEVPATH=$(cd -P "$DEV" && pwd); DEVPATH=${DEVPATH#/sys}
}
# plug NAME: as plug_undecided, once bpflock usb-authorize (or nothing, where usblock is not
# pinned) has decided.
plug() {
	plug_undecided "$1" || return 1
	[ -e $ROOT/usblock ] && ! within 60 grep -qE "$(decision "${DEV##*/}")" $USBLOG && fail "plug $1: usb-authorize did not decide: $(tail -3 $USBLOG)"
	# The drivers of what was authorized bind after the decision: give them time.
	sleep 3
}
gone() { [ ! -e "$DEV" ]; }
unplug() {
	qemu_req unplug "$1"
	within 60 gone || fail "unplug $1: $DEV still there after 60 s"
}
# usb_unlock: the kernel's defaults back (every device authorized), as without usblock.
usb_unlock() {
	for h in /sys/bus/usb/devices/usb*; do
		echo 1 > "$h/authorized_default"; echo 1 > "$h/interface_authorized_default"
	done
	echo -1 > /sys/module/usbcore/parameters/authorized_default
}
count() { ls "$1" 2>/dev/null | wc -l; }
authorized_is() { [ "$(cat "$1/authorized")" = "$2" ] || fail "${1##*/}/authorized is $(cat "$1/authorized"), want $2"; }
policy() { printf '[kimglock]\nprofile = "allow"\n[bpfrestrict]\nprofile = "allow"\n[usblock]\n%s\n' "$1" > /tmp/usb.toml; }
# decision NAME: the pattern (grep -E) of usb-authorize's decision on device NAME.
decision() { echo "usblock: (warning: )?$1 [0-9a-f]{4}:"; }
ids() { echo "$(cat "$DEV/idVendor"):$(cat "$DEV/idProduct")"; }

start_usb_listener() {
	rm -f /tmp/usb-listen.ready
	testops usb_listen >/dev/null 2>&1 &
	USB_LISTENER=$!
	within 10 test -e /tmp/usb-listen.ready || fail "the uevent listener did not start"
}
: > $USBLOG
start_usb_listener

begin usblock_root_hubs_locked
# Bootstrap before the USB controller's driver: the hubs that appear after it are locked
# by usb-authorize (the udev rule's path), and usbcore's default with them.
policy 'profile = "restricted"
allow = [{ class = "hub" }]'
run 0 bpflock bootstrap --policy /tmp/usb.toml
pinned usblock/file_open
for m in xhci_pci usbhid hid_generic usb_storage sd_mod cdc_ether rndis_host; do modprobe $m 2>/dev/null; done
within 60 test -e /sys/bus/usb/devices/usb1 || fail "no root hub after modprobe xhci_pci"
hubs_locked() {
	for h in /sys/bus/usb/devices/usb*; do
		[ "$(cat $h/authorized_default)" = 0 ] && [ "$(cat $h/interface_authorized_default)" = 0 ] || return 1
	done
	[ "$(cat /sys/module/usbcore/parameters/authorized_default)" = 0 ]
}
within 60 hubs_locked || fail "root hubs not locked: $(grep . /sys/bus/usb/devices/usb*/*authorized_default /sys/module/usbcore/parameters/authorized_default | tr '\n' ' ')"
# The keyboard plugged at boot was authorized by the kernel before the hub was locked: no
# rule allows it, so it is taken back.
KBD0=/sys/bus/usb/devices/1-4
within 60 grep -qE "$(decision 1-4)" $USBLOG || fail "kbd0 (1-4) was never judged: $(tail -3 $USBLOG)"
authorized_is $KBD0 0
run 0 bpflock status
contains "every default at 0"
end

begin usblock_keyboard_refused
usb_unlock
inputs=$(count /sys/class/input)
plug kbd1
authorized_is $DEV 1
[ "$(count /sys/class/input)" -gt "$inputs" ] || fail "control: the keyboard made no input device"
unplug kbd1
policy 'profile = "restricted"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
inputs=$(count /sys/class/input)
plug kbd1
authorized_is $DEV 0
[ "$(count /sys/class/input)" = "$inputs" ] || fail "a refused keyboard made an input device"
grep -qE "$(decision "${DEV##*/}").*refused: no rule allows it" $USBLOG || fail "no refusal logged: $(tail -2 $USBLOG)"
unplug kbd1
end

begin usblock_storage_allowed_by_id
usb_unlock
plug stick1
STICK_ID=$(ids)
unplug stick1
policy "profile = \"restricted\"
allow = [{ id = \"$STICK_ID\" }]"
run 0 bpflock bootstrap --policy /tmp/usb.toml
plug stick1
authorized_is $DEV 1
disk() { for b in /sys/block/sd*; do [ -e "$b" ] && SD=/dev/${b##*/} && return 0; done; return 1; }
within 60 disk || fail "the allowed stick's disk did not appear"
mkdir -p /mnt/stick
if mount -t ext2 -o ro "$SD" /mnt/stick 2>/dev/null; then
	grep -q "bpflock usb stick" /mnt/stick/marker || fail "the stick's marker is unreadable"
	umount /mnt/stick
else
	fail "the allowed stick's disk $SD does not mount"
fi
grep -qE "$(decision "${DEV##*/}").*allowed by /tmp/usb.toml:" $USBLOG || fail "the rule is not named: $(tail -2 $USBLOG)"
unplug stick1
# The rule is the stick's id: a keyboard is still refused.
plug kbd1
authorized_is $DEV 0
unplug kbd1
end

begin usblock_network_adapter_interfaces
usb_unlock
nets=$(count /sys/class/net)
plug net1
NET_ID=$(ids)
within 30 test "$(count /sys/class/net)" -gt "$nets" || fail "control: the adapter made no network interface"
unplug net1
policy 'profile = "restricted"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
nets=$(count /sys/class/net)
plug net1
authorized_is $DEV 0
[ "$(count /sys/class/net)" = "$nets" ] || fail "a refused adapter made a network interface"
unplug net1
# Its control interface alone (class comm): the device is configured, its data interface
# stays unauthorized, and the driver (which needs both) binds nothing.
policy "profile = \"restricted\"
allow = [{ id = \"$NET_ID\", class = \"comm\" }]"
run 0 bpflock bootstrap --policy /tmp/usb.toml
plug net1
authorized_is $DEV 1
for i in $DEV/${DEV##*/}:*; do
	case "$(cat $i/bInterfaceClass)" in
	02) authorized_is $i 1 ;;
	*) authorized_is $i 0 ;;
	esac
done
[ "$(count /sys/class/net)" = "$nets" ] || fail "an adapter without its data interface made a network interface"
unplug net1
policy "profile = \"restricted\"
allow = [{ id = \"$NET_ID\", class = [\"comm\", \"cdc-data\"] }]"
run 0 bpflock bootstrap --policy /tmp/usb.toml
plug net1
within 30 test "$(count /sys/class/net)" -gt "$nets" || fail "both interfaces allowed, yet no network interface"
unplug net1
end

begin usblock_writes_refused
usb_unlock
policy 'profile = "baseline"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
plug kbd1
authorized_is $DEV 0
IF0=${DEV##*/}:1.0
# Without bpflock, root of a container authorizes the device the rules refused.
run 0 bpflock remove --all
expect container "usb_write $DEV/authorized=1" ok
authorized_is $DEV 1
echo 0 > $DEV/authorized
run 0 bpflock bootstrap --policy /tmp/usb.toml
authorized_is $DEV 0
HUB=/sys/bus/usb/devices/usb1
for w in "$DEV/authorized=1" "$HUB/authorized_default=1" "$HUB/interface_authorized_default=1" \
	"/sys/module/usbcore/parameters/authorized_default=1" "/sys/bus/usb/drivers_probe=$IF0" \
	"/sys/bus/usb/drivers_autoprobe=0" "/sys/bus/usb/drivers/usbhid/new_id=1234" \
	"/sys/bus/usb/drivers/usb/unbind=${DEV##*/}" "$DEV/remove=1"; do
	expect container "usb_write $w" EPERM
done
# The same files by other names: a sysfs of its own, a bind mount of the device.
unshare --pid --fork --mount sh -c "mkdir -p /tmp/sys2 && mount -t sysfs sysfs /tmp/sys2 && testops usb_write /tmp/sys2/bus/usb/devices/${DEV##*/}/authorized=1" >/tmp/out 2>&1
[ "$(cat /tmp/out)" = EPERM ] || fail "through a second sysfs mount: $(cat /tmp/out)"
mkdir -p /tmp/devbind && mount --bind $DEV /tmp/devbind
expect container "usb_write /tmp/devbind/authorized=1" EPERM
umount /tmp/devbind
authorized_is $DEV 0
# baseline leaves the host's root alone.
expect host "usb_write $DEV/authorized=1" ok
expect host "usb_write $DEV/authorized=0" ok
# restricted: the host's root too, by any descriptor, even one opened before bootstrap.
exec 3>$DEV/authorized
policy 'profile = "restricted"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
expect host "usb_write $DEV/authorized=1" EPERM
expect host "write_held $DEV/authorized:1" EPERM
exec 3>&-
authorized_is $DEV 0
# Only the bpflock executable bootstrap recorded: a copy of it is another file. With the
# listener stopped, a keyboard the rules allow stays as plugged (hub default 0) for
# usb-authorize to be run by hand.
KBD_ID=$(ids)
unplug kbd1
policy "profile = \"restricted\"
allow = [{ id = \"$KBD_ID\" }]"
run 0 bpflock bootstrap --policy /tmp/usb.toml
kill $USB_LISTENER; wait $USB_LISTENER 2>/dev/null
plug_undecided kbd1
authorized_is $DEV 0
cp /bin/bpflock /tmp/bpflock-copy
run 1 /tmp/bpflock-copy usb-authorize "$DEVPATH"
contains "Operation not permitted"
authorized_is $DEV 0
run 0 bpflock usb-authorize "$DEVPATH"
authorized_is $DEV 1
echo 0 > $DEV/authorized 2>/dev/null && fail "host root deauthorized the keyboard under restricted"
rm -f /tmp/bpflock-copy
start_usb_listener
unplug kbd1
end

begin usblock_usbip_attach_refused
# usbip plugs a device whose descriptors the other end makes up: its attach file is guarded
# as the authorization files are. "x" is no request: the kernel answers EINVAL, usblock EPERM.
if modprobe vhci-hcd 2>/dev/null && VHCI=$(ls -d /sys/devices/platform/vhci_hcd.* 2>/dev/null | head -1) && [ -n "$VHCI" ]; then
	expect container "usb_write $VHCI/attach=x" EINVAL
	policy 'profile = "baseline"'
	run 0 bpflock bootstrap --policy /tmp/usb.toml
	expect container "usb_write $VHCI/attach=x" EPERM
	expect host "usb_write $VHCI/attach=x" EINVAL
	policy 'profile = "restricted"'
	run 0 bpflock bootstrap --policy /tmp/usb.toml
	expect host "usb_write $VHCI/attach=x" EPERM
else
	skip "this kernel has no vhci-hcd module"
fi
end

begin usblock_authorize_reads_no_bind_mounts
# Root with a mount namespace of its own puts an allowed device's ids over a refused one's:
# usb-authorize reads sysfs from one descriptor of /sys, crossing no mount.
usb_unlock
plug stick1
STICK=$DEV; STICK_ID=$(ids)
plug kbd1
KBD=$DEV; KBD_DEVPATH=$DEVPATH
policy "profile = \"restricted\"
allow = [{ id = \"$STICK_ID\" }]"
run 0 bpflock bootstrap --policy /tmp/usb.toml
authorized_is $KBD 0
authorized_is $STICK 1
run 0 bpflock usb-authorize "$KBD_DEVPATH"
authorized_is $KBD 0
out=$(unshare --mount sh -c "for f in idVendor idProduct serial descriptors; do [ -e $STICK/\$f ] && [ -e $KBD/\$f ] && { mount --bind $STICK/\$f $KBD/\$f || exit 9; }; done; cat $KBD/idVendor; bpflock usb-authorize $KBD_DEVPATH" 2>&1); rc=$?
[ "$rc" = 1 ] || fail "usb-authorize over bind-mounted ids exited $rc, want 1: $(echo "$out" | tail -2 | tr '\n' ' ')"
echo "$out" | grep -qi "cross-device link" || fail "not refused for the mount: $(echo "$out" | tail -2 | tr '\n' ' ')"
authorized_is $KBD 0
# A BPF filesystem of one's own over /sys/fs/bpf, or over usblock's pin directory: the pins
# are read through pid 1's root, and the keyboard is judged by the system's.
for over in /sys/fs/bpf /sys/fs/bpf/bpflock/usblock; do
	out=$(unshare --mount sh -c "mount -t bpf bpf $over && mkdir -p /sys/fs/bpf/bpflock && bpflock usb-authorize $KBD_DEVPATH" 2>&1); rc=$?
	[ "$rc" = 0 ] && echo "$out" | grep -q "refused: no rule allows it" || fail "with a BPF filesystem over $over (exit $rc): $(echo "$out" | tail -2 | tr '\n' ' ')"
done
authorized_is $KBD 0
unplug kbd1
DEV=$STICK; unplug stick1
end

begin usblock_other_buses_untouched
policy 'profile = "restricted"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
# The PCI bus' drivers_probe: not USB's, so the kernel answers (no such device).
expect host "usb_write /sys/bus/pci/drivers_probe=0000:ff:1f.7" ENODEV
expect container "usb_write /sys/bus/pci/drivers_probe=0000:ff:1f.7" ENODEV
end

begin usblock_present_devices
usb_unlock
echo 1 > $KBD0/authorized
policy 'profile = "restricted"
present = "allow"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
authorized_is $KBD0 1
run 0 bpflock usb list
contains "attached at boot"
run 0 bpflock remove --all
policy 'profile = "restricted"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
authorized_is $KBD0 0
end

begin usblock_pinned_rules_not_the_file
policy 'profile = "restricted"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
plug kbd1
KBD_ID=$(ids)
unplug kbd1
# Editing the file changes nothing until the next bootstrap.
policy "profile = \"restricted\"
allow = [{ id = \"$KBD_ID\" }]"
plug kbd1
authorized_is $DEV 0
run 0 bpflock usb list
contains "refused: no rule allows it"
contains "rule: { id = \"$KBD_ID\""
run 0 bpflock usb list --policy /tmp/usb.toml
contains "allowed by /tmp/usb.toml:"
run 0 bpflock status
contains "refused: no rule allows it"
unplug kbd1
end

begin usblock_complain_mode
policy 'profile = "restricted"
mode = "complain"'
run 0 bpflock bootstrap --policy /tmp/usb.toml
plug kbd1
authorized_is $DEV 1
grep -qE "$(decision "${DEV##*/}").*would be refused" $USBLOG || fail "no would-refuse logged: $(tail -2 $USBLOG)"
expect container "usb_write $DEV/authorized=0" ok
unplug kbd1
end

begin usblock_bad_policy
printf '[usblock]\nprofile = "restricted"\nallow = [{ id = "1d6b" }]\n' > /tmp/bad.toml
run 2 bpflock check /tmp/bad.toml
contains "/tmp/bad.toml:3:"
printf '[usblock]\nprofile = "restricted"\nallow = [{ clas = "hid" }]\n' > /tmp/bad.toml
run 2 bpflock check /tmp/bad.toml
contains "/tmp/bad.toml:3:"
printf '[usblock]\nprofile = "restricted"\nallow = [{ class = "hdi" }]\n' > /tmp/bad.toml
run 2 bpflock check /tmp/bad.toml
contains "did you mean \`hid\`"
not_pinned usblock
end

kill $USB_LISTENER 2>/dev/null
usb_unlock 2>/dev/null
