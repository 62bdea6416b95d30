#!/bin/sh
# Helpers of the enforcement cases, sourced by /init (tests/guest/init) before the suites
# the kernel command line names (bpflock.suites=bootstrap,jail: tests/guest/cases/NAME.sh).
#
# Each case starts with `begin NAME` (tests/guest.rs reads these names to know what must
# be reported) and ends with `end`, which prints one result line on the console:
#   BPFLOCK-CASE PASS name | BPFLOCK-CASE FAIL name: what went wrong
# Denials target processes in a new pid namespace (`unshare --pid --fork`) unless the
# policy denies everyone; every case removes what it pinned.

ROOT=/sys/fs/bpf/bpflock
P=/cases/policies
CASE=""
FAILS=""

begin() { CASE=$1; FAILS=""; SKIPPED=""; }
fail() { FAILS="$FAILS; $*"; }
# skip WHY: this guest cannot run the case (reported as ignored, with WHY).
skip() { SKIPPED="$*"; }
report() {
	# Seconds since boot when the case ended: docs/testing.md's case costs.
	echo "BPFLOCK-CASE-END $CASE $(cut -d' ' -f1 /proc/uptime)"
	if [ -n "$FAILS" ]; then echo "BPFLOCK-CASE FAIL $CASE:${FAILS#;}"
	elif [ -n "$SKIPPED" ]; then echo "BPFLOCK-CASE SKIP $CASE: $SKIPPED"
	else echo "BPFLOCK-CASE PASS $CASE"; fi
}
end() {
	bpflock remove --all >/dev/null 2>&1 || fail "cleanup: bpflock remove --all failed"
	report
}

# expect WHERE OP WANT: WHERE is host (initial pid namespace) or container (new pid
# namespace); WANT is ok or an errno name (EPERM...).
expect() {
	# $2 unquoted: "finit_module /modules/minix.ko" is an operation and its argument.
	if [ "$1" = host ]; then got=$(testops $2 2>&1); else got=$(unshare --pid --fork testops $2 2>&1); fi
	[ "$got" = "$3" ] || fail "$2 in $1: got $got, want $3"
}

# eventually WHERE OP WANT: as expect, allowing the kernel up to 10 s to release links
# that were unpinned by hand (it does so asynchronously; `bpflock remove` waits for it).
eventually() {
	i=0
	while [ $i -lt 100 ]; do
		got=$(if [ "$1" = host ]; then testops "$2"; else unshare --pid --fork testops "$2"; fi 2>&1)
		[ "$got" = "$3" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	fail "$2 in $1: got $got, want $3 (after 10 s)"
}

# run CODE CMD...: CMD must exit with CODE. Its output is kept in $OUT.
run() {
	want=$1; shift
	OUT=$("$@" 2>&1); rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want: $(echo "$OUT" | tail -3 | tr '\n' ' ')"
}

contains() { echo "$OUT" | grep -q -- "$1" || fail "output of the last command lacks '$1': $(echo "$OUT" | tr '\n' ' ')"; }
pinned() { [ -e "$ROOT/$1" ] || fail "$ROOT/$1 is not pinned"; }
not_pinned() { [ ! -e "$ROOT/$1" ] || fail "$ROOT/$1 is pinned: $(ls -R "$ROOT" | tr '\n' ' ')"; }
# Program ids of a protection's links, to tell a re-applied set from the old one.
prog_ids() { bpflock status --json | grep -o '"prog_id": [0-9]*' | tr '\n' ' '; }

KIMG_OPS="tracefs debugfs devmem kcore kexec"
# kexec_file_load of a file that is no kernel: ENOEXEC, or ENOSYS where the kernel is built
# without it (Debian's arm64). The kmodlock cases check that it is not refused as a module.
KEXEC_FILE=$(testops kexec_file /bin/nop 2>&1)
# The dynamic loader, run as a program by the ld.so cases.
LDSO=/lib64/ld-linux-x86-64.so.2
[ "$(uname -m)" = aarch64 ] && LDSO=/lib/ld-linux-aarch64.so.1
# Raw I/O ports are an x86 thing.
[ "$(uname -m)" = x86_64 ] && KIMG_OPS="$KIMG_OPS ioperm"
BPF_OPS="map_create prog_load btf_load"
# Code from files with no name: exec of a memfd, of a memfd script, of an unlinked O_TMPFILE,
# of a deleted-but-open file, of a program on a tmpfs never attached (fsmount without
# move_mount), execveat(AT_EMPTY_PATH) for all; ld.so mapping a memfd; mprotect.
FILELESS_EXEC_OPS="memfd_exec memfd_script tmpfile_exec deleted_exec detached_exec"
FILELESS_OPS="$FILELESS_EXEC_OPS ldso_memfd mprotect_memfd"

MOD=/modules/minix.ko
# Module loading: finit_module (file), init_module (memory), autoload (mount -t minix).
KMOD_OPS="finit_module:$MOD init_module:$MOD autoload"
kmod() { echo "$1" | tr ':' ' '; }

# ---- audit: events to journald through `bpflock forward`, every one accounted for ----

FWD=""
start_forwarder() {
	bpflock forward 2>>/tmp/forward.err &
	FWD=$!
	# Ready once it has logged that it forwards.
	i=0
	while ! journal_json | grep -q "forwarding events"; do
		sleep 0.1; i=$((i + 1))
		[ $i -lt 100 ] || { fail "the forwarder did not start: $(cat /tmp/forward.err)"; return; }
	done
}
stop_forwarder() {
	kill -0 $FWD 2>/dev/null || fail "the forwarder died: $(tail -3 /tmp/forward.err)"
	kill -TERM $FWD; wait $FWD; rc=$?
	[ $rc = 0 ] || fail "the forwarder exited $rc on SIGTERM"
}
# journal_mark: starts a case's journal view (entries are told apart by the forwarder's pid).
journal_mark() {
	FWD=0
	: >/tmp/forward.err
}
# journal_json [FIELD=VALUE...]: what this case's forwarder logged, one JSON object a line.
journal_json() { journalctl -q -o json --no-pager -t bpflock _PID="$FWD" "$@" 2>/dev/null; }
# The forwarder's own accounting at stop: forwarded FIELD.
forwarded() { journal_json | grep BPFLOCK_DELIVERED | tail -1 | grep -o "\"$1\":\"[0-9]*\"" | grep -o '[0-9]*'; }
# A kernel counter from `bpflock status --json`: counter NAME.
counter() { bpflock status --json | grep -o "\"$1\": [0-9]*" | head -1 | grep -o '[0-9]*$'; }
denied() { bpflock status --json | tr -d ' \n' | grep -o "\"protection\":\"$1\",\"decision\":\"denied\",\"count\":[0-9]*" | grep -o '[0-9]*$'; }
would_deny() { n=$(bpflock status --json | tr -d ' \n' | grep -o "\"protection\":\"$1\",\"decision\":\"would-deny\",\"count\":[0-9]*" | grep -o '[0-9]*$'); echo "${n:-0}"; }
# complain_counted PROTECTION AT_LEAST: complain mode counted would-denials and no denial.
complain_counted() {
	[ "$(would_deny "$1")" -ge "$2" ] || fail "$1 complain mode counted $(would_deny "$1") would-deny, want >= $2"
	d=$(denied "$1"); [ "${d:-0}" = 0 ] || fail "$1 complain mode counted $d denials"
}
has_journald() { [ -S /run/systemd/journal/socket ] && command -v journalctl >/dev/null; }
# overlay_at DIR: an overlay of a directory holding the program nop, at DIR (its upper
# layer on tmpfs). Since 6.6 the kernel opens and maps the layers' files behind the
# overlay's: the locks and the jail must not take them for files with no name.
overlay_at() {
	modprobe overlay 2>/dev/null
	mkdir -p /tmp/ovl/lower /tmp/ovl/upper /tmp/ovl/work "$1"
	cp /bin/nop /tmp/ovl/lower/nop && echo data > /tmp/ovl/lower/file
	mount -t overlay overlay -o lowerdir=/tmp/ovl/lower,upperdir=/tmp/ovl/upper,workdir=/tmp/ovl/work "$1"
}


# ---- fslock, nslock: escapes from a container, first shown to work without bpflock ----

HOST_PIDNS=$(readlink /proc/self/ns/pid)
# make_payload: /tmp/payload.sh, the program an escape has the kernel run; it records who
# ran it and in which pid namespace.
make_payload() {
	rm -f /tmp/escaped
	printf '#!/bin/sh\necho "$(/bin/id -u) $(/bin/readlink /proc/self/ns/pid)" > /tmp/escaped\n' > /tmp/payload.sh
	chmod 755 /tmp/payload.sh
}
# escaped WHAT: the payload ran as root in the host's pid namespace (within 10 s).
escaped() {
	i=0
	while [ ! -s /tmp/escaped ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(cat /tmp/escaped 2>/dev/null)" = "0 $HOST_PIDNS" ] || fail "$1: the payload did not run as host root: $(cat /tmp/escaped 2>&1)"
	rm -f /tmp/escaped
}
# not_escaped WHAT: the payload never ran.
not_escaped() {
	sleep 1
	[ ! -e /tmp/escaped ] || fail "$1: the payload ran: $(cat /tmp/escaped)"
}
# in_container CMD...: CMD in a new pid namespace, not its init (pid 2: init ignores signals).
in_container() { unshare --pid --fork sh -c '"$@"; exit $?' sh "$@"; }
# crash_in_container: a process of a container dies of SIGSEGV (a core dump).
# (`; true`: a shell whose last command is the only one execs it, and would be pid 1.)
crash_in_container() { unshare --pid --fork sh -c 'sh -c "kill -SEGV \$\$; true"; true' 2>/dev/null; }
