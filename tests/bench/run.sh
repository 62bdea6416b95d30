#!/bin/bash
# `make bench`: hook costs in QEMU guests under -icount (instructions, not seconds), the
# verifier's cost, the forwarder's memory and throughput, the binary's size and the
# bootstrap's userspace time on this host. Writes target/bench/report.md and prints it.
#   run.sh BPFLOCK GUEST_DIR KERNEL...
set -euo pipefail
bin=${1:?usage: run.sh BPFLOCK GUEST_DIR KERNEL...}; guest=${2:?}; shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/bench"; mkdir -p "$out"
cc="gcc -static -O2 -Wall"
$cc -o "$out/bench" "$root/tests/bench/bench.c"
$cc -o "$out/nop" "$root/tests/guest/nop.c"
$cc -o "$out/attach" "$root/tests/bench/attach.c" -lbpf -lelf -lz
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I"$root/include" -c "$root/tests/bench/empty.bpf.c" -o "$out/empty.bpf.o"
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -DJAIL_HOOKS -I"$root/include" -c "$root/tests/bench/empty.bpf.c" -o "$out/empty-jail.bpf.o"
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -DLOCK_HOOKS -I"$root/include" -c "$root/tests/bench/empty.bpf.c" -o "$out/empty-locks.bpf.o"
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -DLOCK_HOOKS -DSEAL_HOOKS -I"$root/include" -c "$root/tests/bench/empty.bpf.c" -o "$out/empty-seal.bpf.o"
# The sealed configuration: every lock, and the doors into the kernel closed (docs/seal.md).
printf '[bpflock]\nseal = true\n[kimglock]\nprofile = "restricted"\n[kmodlock]\nprofile = "restricted"\n[bpfrestrict]\nprofile = "restricted"\n[filelesslock]\nprofile = "baseline"\n[fslock]\nprofile = "baseline"\n[nslock]\nprofile = "baseline"\n' > "$out/sealed.toml"
# Jail policies with N rules of each kind: paths, CIDRs (each its own /24), executables
# (enrolled; bench mkfiles creates them in the guest). The benchmark's own paths and
# loopback are allowed; /bench/denied is refused.
jail_policy() {
    local n=$1
    echo "[roles.bench]"
    printf 'file.deny = ["/bench/denied"'; for ((i = 1; i < n; i++)); do printf ', "/srv/r%d/**"' $i; done; echo "]"
    # The benchmark's own listener (an ephemeral port on loopback) must be allowed, or connect
    # measures a refusal.
    echo 'net.bind = ["tcp/0-65535@127.0.0.0/8"]'
    printf 'net.connect = ["tcp/1024-65535@127.0.0.0/8"'; for ((i = 1; i < n; i++)); do printf ', "tcp/443@10.%d.%d.0/24"' $((i / 256)) $((i % 256)); done; echo "]"
    printf 'exec.allow = ["/bin/nop", "/bin/bench"'; for ((i = 2; i < n; i++)); do printf ', "/srv/x%d"' $i; done; echo "]"
    for ((i = 0; i < n; i++)); do printf '[[enroll]]\nexec = "/bench/files/f%d"\nrole = "bench"\n' $i; done
}
extra=""
for n in 10 1000 10000; do
    jail_policy $n > "$out/jail-$n.toml"
    extra="$extra $out/jail-$n.toml:/bench/jail-$n.toml"
done
BPFLOCK_INIT="$root/tests/bench/bench-init" \
BPFLOCK_EXTRA="$out/bench:/bin/bench $out/nop:/bin/nop $out/attach:/bin/attach $out/empty.bpf.o:/bench/empty.bpf.o $out/empty-jail.bpf.o:/bench/empty-jail.bpf.o $out/empty-locks.bpf.o:/bench/empty-locks.bpf.o $out/empty-seal.bpf.o:/bench/empty-seal.bpf.o $out/sealed.toml:/bench/sealed.toml$extra" \
    "$root/tests/guest/mkinitramfs.sh" "$bin" "$guest/testops" "$out/initramfs.cpio.gz" >/dev/null

report="$out/report.md"
# Shared by the tables' awk programs: the median of a space-separated list.
AWK_MEDIAN='function median(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) a[i] += 0; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }'
{
echo "## Hook cost (instructions per operation, QEMU -icount shift=0: 1 guest ns = 1 instruction)"
echo
} > "$report"
# One table: each operation with no program, with empty programs (config $1) and with
# bpflock's (config $2, headed $3); medians over the rounds and their spread.
# cost_table EMPTY CONFIG LABEL [NONE]: CONFIG against no program (NONE, default "none") and
# against empty programs on the same hooks (EMPTY).
cost_table() {
    echo "| operation | none | empty LSM program | $3 | $3 / none | $3 / empty (target <= 1.15) | spread over rounds |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    awk -v E="$1" -v B="$2" -v N="${4:-none}" "$AWK_MEDIAN"'
        /^BENCH [a-z]/ { v[$2" "$3] = v[$2" "$3] " " $4; ops[$3] = 1 }
        function spread(s,   a, n, i, lo, hi) { n = split(s, a, " "); for (i = 1; i <= n; i++) a[i] += 0; lo = hi = a[1]; for (i = 2; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }; return lo > 0 ? (hi - lo) / lo * 100 : 0 }
        END {
            split("open_close write_read fork execve connect bpf_lookup ioperm mmap_file mprotect init_module", order, " ")
            for (k = 1; k <= 10; k++) { op = order[k]; if (!(op in ops) || v[B " " op] == "") continue
                n = median(v[N " " op]); e = median(v[E " " op]); b = median(v[B " " op])
                s = spread(v[N " " op]); if (spread(v[E " " op]) > s) s = spread(v[E " " op]); if (spread(v[B " " op]) > s) s = spread(v[B " " op])
                printf "| %s | %.0f | %.0f | %.0f | %.3f | %.3f | %.2f %% |\n", op, n, e, b, b / n, b / e, s }
        }' "$log.clean"
}
for kernel in "$@"; do
    log="$out/console-$kernel.log"
    # A safety net only (the figures are instructions, whatever the wall clock): about 40
    # minutes a kernel alone on this 2-core host, most of it bootstrapping the
    # 10 000-rule jail three times under TCG.
    timeout 4200 qemu-system-x86_64 -accel tcg -icount shift=0,sleep=off -m 1024 -smp 1 -no-reboot -display none \
        -monitor none -serial "file:$log" -kernel "$guest/kernel-$kernel/vmlinuz" \
        -initrd "$out/initramfs.cpio.gz" -append "console=ttyS0 panic=-1 quiet${BENCH_ONLY:+ bench.only=$BENCH_ONLY}" </dev/null
    tr -d '\r' < "$log" > "$log.clean"
    grep -q BENCH-END "$log.clean" || { echo "bench: the $kernel guest did not finish (see $log)" >&2; exit 1; }
    if grep BENCH-ERROR "$log.clean" >&2; then echo "bench: the $kernel guest could not measure all (above)" >&2; exit 1; fi
    {
    echo "### $kernel ($(cat "$guest/kernel-$kernel/version"))"
    echo
    cost_table empty bpflock "bpflock default"
    echo
    echo "Every system-wide lock at baseline (kimglock, bpfrestrict, kmodlock, filelesslock, fslock, nslock; the benchmark in the initial pid namespace, so allowed), against empty programs on the same hooks:"
    echo
    cost_table empty_locks locks "all locks"
    echo
    echo "Sealed (docs/seal.md; the last phase of the boot, from a tmpfs root entered by chroot, as a seal needs a real root): every lock, kimglock, kmodlock and bpfrestrict restricted, and the seal's programs, against empty programs on the same hooks — the operations the sealed policy allows (it refuses ioperm, init_module and bpf_lookup):"
    echo
    cost_table empty_seal sealed "sealed" none_seal
    echo
    echo "Jails (instructions per operation): empty programs on the jail's hooks too; bpflock's default policy plus a jail of 1000 rules with the benchmark in no jail; jailed in a role of 10, 1000 and 10 000 rules of each kind (paths, CIDRs, executables); open_denied is refused in the jail:"
    echo
    echo "| operation | empty (jail hooks) | not jailed | jailed, 10 rules | 1 000 | 10 000 | not jailed / empty (target <= 1.15) | jailed 1 000 / empty (open: target <= 1.5) | 10 000 / 10 rules (target: within 5 %) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk "$AWK_MEDIAN"'
        /^BENCH [a-z]/ { v[$2" "$3] = v[$2" "$3] " " $4; ops[$3] = 1 }
        END {
            split("open_close open_denied fork execve connect", order, " ")
            for (k = 1; k <= 5; k++) { op = order[k]; if (!(op in ops) || v["empty_jail " op] == "") continue
                e = median(v["empty_jail " op]); u = median(v["unjailed " op]); j1 = median(v["jailed_10 " op]); j2 = median(v["jailed_1000 " op]); j3 = median(v["jailed_10000 " op])
                printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.3f | %.3f | %.3f |\n", op, e, u, j1, j2, j3, u / e, j2 / e, j3 / j1 }
        }' "$log.clean"
    echo
    echo "Verifier (instructions processed to accept each program of the system-wide locks):"
    echo
    { grep '^VERIFIED ' "$log.clean" || true; } | sed 's/VERIFIED //' | awk -F'[:,"]+' '/"name"/ { p = $3; next } { printf "- %s lsm/%s: %s\n", p, $3, $7; t += $7 } END { printf "- total: %d\n", t }'
    echo
    echo "Verifier, the jail's programs (a role of 1000 rules of each kind):"
    echo
    { grep '^VERIFIED-JAIL' "$log.clean" || true; } | sed 's/VERIFIED-JAIL //' | awk -F'[:,"]+' '/"name"/ { p = $3; next } p == "jail" { printf "- jail lsm/%s: %s\n", $3, $7; t += $7 } END { printf "- total: %d\n", t }'
    echo
    echo "Bootstrap, full duration in the guest (read the policy, load, verify, attach, pin; instructions of the whole guest while it ran, median of 3):"
    echo
    awk "$AWK_MEDIAN"'
        /^BENCH-TIME / { v[$2] = v[$2] " " $3; if ($4 != 0) failed[$2] = 1 }
        END { split("bootstrap_default bootstrap_locks", order, " "); split("the default policy|every system-wide lock at baseline", what, "|")
              for (k = 1; k <= 2; k++) { l = order[k]; if (!(l in v)) continue
                  printf "- %s: %.1f M instructions (%.1f ms at 1 instruction/ns)%s\n", what[k], median(v[l]) / 1e6, median(v[l]) / 1e6, (l in failed) ? " — FAILED" : "" } }' "$log.clean"
    echo
    echo "Forwarder, 40 bursts of 500 denials from a container, rate_limit = 0, into a real journald:"
    echo
    awk '/^FORWARD rss_kb/ { printf "- peak resident memory: %.2f MiB (target <= 3 MiB)\n", $3 / 1024 }
         /^FORWARD cpu_ns/ { cpu_ns = $3 }
         /^FORWARD stopping/ { delivered = $3 }
         /^FORWARD "output"/ { }
         { if ($2 ~ /"ring_full":/) { split($2, a, ":"); ring = a[2] } if ($2 ~ /"wanted":/) { split($2, a, ":"); wanted = a[2] } }
         END { if (cpu_ns > 0 && delivered > 0) {
                 sec = cpu_ns / 1e9
                 printf "- events delivered: %d of %d wanted, %d lost in a full ring (all counted)\n", delivered, wanted, ring
                 printf "- forwarder CPU time over the run: %.1f ms (schedstat)\n", cpu_ns / 1e6
                 printf "- forwarder CPU: %.1f us per event (guest time = instructions: %.0f instructions per event)\n", sec / delivered * 1e6, sec / delivered * 1e9
                 printf "- throughput with one full core: %.0f events/s at 1 instruction/ns (target >= 100k)\n", delivered / sec } }' "$log.clean"
    echo
    } >> "$report"
done

# On this host: size, and bootstrap's userspace time to its first program load.
size=$(stat -c %s "$bin")
{
echo "## Host: $(uname -r)"
echo
printf -- "- static binary: %d bytes = %.2f MiB (target <= 2 MiB)\n" "$size" "$(echo "$size / 1048576" | bc -l)"
} >> "$report"
if command -v strace >/dev/null; then
    # --seccomp-bpf: only execve and bpf stop the process, so strace does not slow the
    # system calls in between (musl's allocator makes many). Wall time: the host's load
    # shows in the spread; the minimum is the uncontended figure.
    times=()
    for _ in $(seq 15); do
        t=$(strace --seccomp-bpf -f -ttt -e trace=execve,bpf "$bin" probe 2>&1 >/dev/null |
            awk '/execve\(/ && !s { s = $1 + 0 } /BPF_PROG_LOAD/ && !done { print ($1 - s) * 1000; done = 1 }' | sed 's/^[^0-9]*//' || true)
        times+=("${t#* }")
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    printf -- "- bootstrap userspace, exec to first BPF_PROG_LOAD (strace, 15 runs): median %.2f ms, min %.2f ms, max %.2f ms (target <= 15 ms)\n" \
        "$(sed -n 8p <<<"$sorted")" "$(sed -n 1p <<<"$sorted")" "$(sed -n 15p <<<"$sorted")" >> "$report"
fi
echo >> "$report"
cat "$report"
