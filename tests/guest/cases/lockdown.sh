# bpflock-suite: named-only
# Lockdown cases: the guest booted with lockdown=integrity or lockdown=confidentiality
# (tests/guest.rs: KERNEL+lockdown=MODE:lockdown). Under confidentiality the kernel denies
# BPF programs the helpers that read kernel memory (bpf_probe_read_kernel): every
# protection must load and enforce all the same. Sourced by /init after lib.sh.

begin lockdown_is_active
mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/security/lockdown)
grep -q "lockdown=$mode" /proc/cmdline || fail "lockdown is '$mode', the command line: $(cat /proc/cmdline)"
[ "$mode" != none ] || fail "lockdown is not active"
# The kernel's own lockdown refuses /dev/mem to everyone: nothing of bpflock's yet.
expect host devmem EPERM
end

begin lockdown_every_protection_loads_and_enforces
echo "root:secret-hash:19000:0:99999:7:::" > /etc/shadow
run 0 bpflock bootstrap --policy $P/lockdown.toml
for p in kimglock kmodlock filelesslock fslock nslock jail bpfrestrict; do pinned $p; done
run 0 bpflock probe --policy $P/lockdown.toml
# bpfrestrict: a container may not create maps, the host may.
expect host map_create ok; expect container map_create EPERM
# filelesslock: a memfd runs on the host, not in a container.
expect host memfd_exec ok; expect container memfd_exec EPERM
# fslock: dentry names are read with BTF loads; a tunable is refused to a container.
expect container "write /proc/sys/kernel/core_pattern:core" EPERM
expect host "write /proc/sys/kernel/core_pattern:core" ok
expect container "write /proc/sys/kernel/domainname:x" EPERM
# nslock: no user namespace in a container.
expect container userns EPERM; expect host userns ok
# kmodlock: Debian's signed module loads on the host (lockdown allows signed modules),
# not from a container.
expect container "finit_module $MOD" EPERM
expect host "finit_module $MOD" ok
# The jail: a file rule and a network rule (IPv4 and IPv6 addresses are read from the
# socket address without bpf_probe_read_kernel), each with its control.
got=$(bpflock run --role web -- jailops read /etc/shadow 2>&1)
[ "$got" = EPERM ] || fail "jailed read of /etc/shadow: got $got, want EPERM"
got=$(jailops read /etc/shadow 2>&1)
[ "$got" = ok ] || fail "unjailed read of /etc/shadow: got $got, want ok"
got=$(bpflock run --role web -- jailops connect4 127.0.0.1 4444 2>&1)
[ "$got" = EPERM ] || fail "jailed connect to 127.0.0.1:4444: got $got, want EPERM"
got=$(bpflock run --role web -- jailops connect6 ::1 4444 2>&1)
[ "$got" = EPERM ] || fail "jailed connect to [::1]:4444: got $got, want EPERM"
# The allowed addresses: the address bytes were read right, not just refused by default.
got=$(bpflock run --role web -- jailops connect4 192.0.2.1 443 2>&1)
[ "$got" != EPERM ] || fail "jailed connect to an allowed 192.0.2.1:443 was refused"
got=$(bpflock run --role web -- jailops connect6 2001:db8::1 443 2>&1)
[ "$got" != EPERM ] || fail "jailed connect to an allowed [2001:db8::1]:443 was refused"
got=$(bpflock run --role web -- jailops connect6 2001:db8::1 444 2>&1)
[ "$got" = EPERM ] || fail "jailed connect to [2001:db8::1]:444 (port not allowed): got $got, want EPERM"
n=$(denied jail); [ "${n:-0}" -ge 4 ] || fail "jail denials counted: ${n:-0}, want at least 4"
end

begin lockdown_events_name_the_object
# The jail's path reaches the journal: copied from bpflock's map memory, not read with
# bpf_probe_read_kernel (denied under confidentiality).
run 0 bpflock bootstrap --policy $P/lockdown.toml
journal_mark
start_forwarder
got=$(bpflock run --role web -- jailops read /etc/shadow 2>&1)
[ "$got" = EPERM ] || fail "jailed read of /etc/shadow: got $got, want EPERM"
sleep 1
stop_forwarder
n=$(journal_json BPFLOCK_PROTECTION=jail BPFLOCK_OBJECT=/etc/shadow | grep -c .)
[ "$n" = 1 ] || fail "the denial with its object logged $n times, want 1: $(journal_json BPFLOCK_PROTECTION=jail | tail -2)"
end
