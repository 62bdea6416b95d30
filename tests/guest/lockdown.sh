# Lockdown cases: the guest booted with lockdown=integrity or lockdown=confidentiality
# (tests/guest.rs, BPFLOCK_GUEST_LOCKDOWN). Sourced by /init after lib.sh.

begin lockdown_is_active
mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/security/lockdown)
grep -q "lockdown=$mode" /proc/cmdline || fail "lockdown is '$mode', the command line: $(cat /proc/cmdline)"
[ "$mode" != none ] || fail "lockdown is not active"
end
