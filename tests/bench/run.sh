#!/bin/bash
# `make bench`: hook costs in QEMU guests under -icount (instructions, not seconds), the
# jail against Landlock and AppArmor, the verifier's cost, the forwarder's memory and
# throughput, the binary's size and the bootstrap's userspace time on this host. Writes
# target/bench/report.md and prints it.
#   run.sh GUEST_DIR KERNEL...     KERNEL as the guests name them: bookworm, trixie-arm64
# The static bpflock of each architecture a kernel needs: BPFLOCK_amd64, BPFLOCK_arm64.
# BENCH_JOBS guests boot at once (default 2: one a core; under -icount the figures do not
# depend on what else the host runs).
set -euo pipefail
guest=${1:?usage: run.sh GUEST_DIR KERNEL...}; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/bench"; mkdir -p "$out"
. /etc/os-release

# The rule sets, shared by both architectures (docs/performance.md, "Against Landlock and
# AppArmor"). Each names N objects of each kind it has: files read and run (the benchmark's
# own three, then /bench/files/f*, which bench mkfiles creates in the guest), executables,
# and TCP peers. /bench/denied is named by none: every confinement refuses it.
#   bpflock: file.read_only and exec.allow of N paths, file.default = "deny"; net.connect
#            of the listener and N-1 CIDRs (a /24 each: the jail's CIDR trie);
#   Landlock: N path-beneath rules (read, read and execute), N TCP ports (from ABI 4);
#   AppArmor: N path rules (r, rm, rmix); its network rules name a family and a type,
#            not an address or a port: one `network inet stream` rule.
compare_rules() {
    local n=$1 i files=() toml=$out/cmp-$n.toml ll=$out/landlock-$n aa=$out/apparmor-$n
    for ((i = 0; i < n - 3; i++)); do files+=("/bench/files/f$i"); done
    {
        echo "[roles.bench]"
        echo 'file.default = "deny"'
        printf 'file.read_only = ["/init", "/bin/bench", "/bin/nop"'; printf ', "%s"' "${files[@]}"; echo "]"
        printf 'exec.allow = ["/bin/bench", "/bin/nop"'; printf ', "%s"' "${files[@]}"; echo ", \"/bench/files/f$((n - 3))\"]"
        echo 'net.bind = ["tcp/20000@127.0.0.1/32"]'
        printf 'net.connect = ["tcp/20000@127.0.0.1/32"'; for ((i = 1; i < n; i++)); do printf ', "tcp/443@10.%d.%d.0/24"' $((i / 256)) $((i % 256)); done; echo "]"
    } > "$toml"
    {
        echo "r /init"; echo "rx /bin/bench"; echo "rx /bin/nop"
        printf 'rx %s\n' "${files[@]}"
        echo "bind 20000"
        for ((i = 0; i < n; i++)); do echo "connect $((20000 + i))"; done
    } > "$ll"
    {
        echo "profile bench_$n {"
        echo "  /init r,"; echo "  /bin/bench rm,"; echo "  /bin/nop rmix,"
        printf '  %s rmix,\n' "${files[@]}"
        # What AppArmor alone asks: the console the benchmark inherited, revalidated at exec.
        echo "  /dev/console rw,"; echo "  /dev/ttyS0 rw,"; echo "  /dev/ttyAMA0 rw,"
        echo "  network inet stream,"
        echo "}"
    } > "$aa"
}
extra=""
for n in 10 1000 10000; do
    compare_rules $n
    extra="$extra $out/cmp-$n.toml:/bench/cmp-$n.toml $out/landlock-$n:/bench/landlock-$n $out/apparmor-$n:/bench/apparmor-$n"
done
# The sealed configuration: every lock, and the doors into the kernel closed (docs/seal.md).
printf '[bpflock]\nseal = true\n[kimglock]\nprofile = "restricted"\n[kmodlock]\nprofile = "restricted"\n[bpfrestrict]\nprofile = "restricted"\n[filelesslock]\nprofile = "baseline"\n[fslock]\nprofile = "baseline"\n[nslock]\nprofile = "baseline"\n' > "$out/sealed.toml"
extra="$extra $out/sealed.toml:/bench/sealed.toml"

# One initramfs per architecture: the benchmark's programs, the empty BPF programs,
# apparmor_parser (Debian's, of the host's release: it needs only libc) and the rule sets.
initramfs() {
    local deb_arch=$1 bin dir=$out/$1 cc bpf_arch deps=$out/deps-$1 libs="" env=()
    bin=$(eval echo "\${BPFLOCK_$deb_arch:-}")
    [[ -x $bin ]] || { echo "bench: no bpflock for $deb_arch (BPFLOCK_$deb_arch)" >&2; exit 1; }
    mkdir -p "$dir"
    if [[ ! -x $deps/root/sbin/apparmor_parser ]]; then
        local pkgs=(apparmor)
        [[ $deb_arch == amd64 ]] || pkgs+=(libbpf-dev libelf-dev zlib1g-dev busybox-static)
        "$root/tools/debian-download.sh" "$deb_arch" "$VERSION_CODENAME" "$deps" "${pkgs[@]}" >/dev/null
    fi
    case $deb_arch in
    amd64) cc="gcc -static -O2 -Wall"; bpf_arch=x86
           $cc -o "$dir/attach" "$root/tests/bench/attach.c" -lbpf -lelf -lz ;;
    arm64) cc="aarch64-linux-gnu-gcc -static -O2 -Wall"; bpf_arch=arm64
           local lib=$deps/root/usr/lib/aarch64-linux-gnu
           $cc -I"$deps/root/usr/include" -o "$dir/attach" "$root/tests/bench/attach.c" "$lib/libbpf.a" "$lib/libelf.a" "$lib/libz.a"
           libs="/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1:/lib/ld-linux-aarch64.so.1 /usr/aarch64-linux-gnu/lib/libc.so.6:/lib/aarch64-linux-gnu/libc.so.6"
           env=(BPFLOCK_BUSYBOX="$deps/root/bin/busybox" BPFLOCK_NO_JOURNALD=1) ;;
    esac
    $cc -o "$dir/bench" "$root/tests/bench/bench.c"
    $cc -o "$dir/confine" "$root/tests/bench/confine.c"
    $cc -o "$dir/nop" "$root/tests/guest/nop.c"
    local objs=""
    for v in empty: empty-jail:-DJAIL_HOOKS empty-locks:-DLOCK_HOOKS "empty-seal:-DLOCK_HOOKS -DSEAL_HOOKS"; do
        # shellcheck disable=SC2086
        clang -O2 -g -target bpf -D__TARGET_ARCH_$bpf_arch ${v#*:} -I"$root/include" -c "$root/tests/bench/empty.bpf.c" -o "$dir/${v%%:*}.bpf.o"
        objs="$objs $dir/${v%%:*}.bpf.o:/bench/${v%%:*}.bpf.o"
    done
    # The parts of the jail's file check, one at a time (tests/bench/parts.bpf.c).
    for part in open storage d_path lpm probe cast hash; do
        local def=-DPART_${part^^}; [[ $part == open ]] && def=
        # shellcheck disable=SC2086
        clang -O2 -g -target bpf -D__TARGET_ARCH_$bpf_arch $def -I"$root/include" -c "$root/tests/bench/parts.bpf.c" -o "$dir/part-$part.bpf.o"
        objs="$objs $dir/part-$part.bpf.o:/bench/part-$part.bpf.o"
    done
    env "${env[@]}" BPFLOCK_INIT="$root/tests/bench/bench-init" \
    BPFLOCK_EXTRA="$dir/bench:/bin/bench $dir/nop:/bin/nop $dir/attach:/bin/attach $dir/confine:/bin/confine $deps/root/sbin/apparmor_parser:/bin/apparmor_parser $libs$objs$extra" \
        "$root/tests/guest/mkinitramfs.sh" "$bin" "$guest/$([[ $deb_arch == amd64 ]] || echo "$deb_arch/")testops" "$dir/initramfs.cpio.gz" >/dev/null
}
arches=$(for k in "$@"; do [[ $k == *-arm64 ]] && echo arm64 || echo amd64; done | sort -u)
for a in $arches; do initramfs "$a"; done

# One guest: its console log in target/bench/console-KERNEL.log.
boot() {
    local kernel=$1 log="$out/console-$1.log" qemu=(qemu-system-x86_64) console=ttyS0 initrd=$out/amd64/initramfs.cpio.gz
    local only=${BENCH_ONLY:-}
    if [[ $kernel == *-arm64 ]]; then
        # pauth-impdef: QEMU's cheap pointer-authentication hash (the instructions are the same).
        qemu=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on); console=ttyAMA0; initrd=$out/arm64/initramfs.cpio.gz
        # arm64: the comparison with Landlock and AppArmor (the system-wide locks' figures are x86_64's).
        only=${only:-compare}
    fi
    # A safety net only (the figures are instructions, whatever the wall clock).
    timeout 3600 "${qemu[@]}" -accel tcg -icount shift=0,sleep=off -m 1024 -smp 1 -no-reboot -display none \
        -monitor none -serial "file:$log" -kernel "$guest/kernel-$kernel/vmlinuz" \
        -initrd "$initrd" -append "console=$console panic=-1 quiet${only:+ bench.only=$only}" </dev/null || true
    tr -d '\r' < "$log" > "$log.clean"
}
jobs_max=${BENCH_JOBS:-2}
# The slowest first (arm64), so that the last two end close together.
for kernel in $(printf '%s\n' "$@" | grep -- -arm64; printf '%s\n' "$@" | grep -v -- -arm64); do
    while (( $(jobs -rp | wc -l) >= jobs_max )); do wait -n || true; done
    boot "$kernel" &
done
wait
failed=0
for kernel in "$@"; do
    log="$out/console-$kernel.log"
    grep -q BENCH-END "$log.clean" || { echo "bench: the $kernel guest did not finish (see $log)" >&2; failed=1; }
    if grep BENCH-ERROR "$log.clean" >&2; then echo "bench: the $kernel guest could not measure all (above)" >&2; failed=1; fi
    if grep -E 'BENCH-OUTCOME (jail|landlock|apparmor)_[0-9]+ open_denied allowed' "$log.clean" >&2; then
        echo "bench: a confinement allowed what its rules refuse ($kernel)" >&2; failed=1
    fi
done
(( failed == 0 )) || exit 1

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
# The jail against Landlock and AppArmor: per operation and rule count, each confinement's
# instructions per operation, its ratio to none, and bpflock's to each peer's.
compare_table() {
    local abi
    abi=$(sed -n 's/^LANDLOCK-ABI //p' "$log.clean" | head -1)
    echo "Landlock ABI $abi (the highest this kernel offers; the ruleset handles every file access it knows$( ((abi >= 4)) && echo ', and TCP bind and connect' || echo '; no network rules before ABI 4: connect is not confined by Landlock here'))."
    echo
    echo "| operation | rules | none | bpflock jail | Landlock | AppArmor | jail / none | Landlock / none | AppArmor / none | **bpflock / Landlock** | **bpflock / AppArmor** |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -v ABI="$abi" "$AWK_MEDIAN"'
        /^BENCH [a-z]/ { v[$2" "$3] = v[$2" "$3] " " $4 }
        function ratio(x, y) { return (x == "" || y == "") ? "–" : sprintf("%.3f", median(x) / median(y)) }
        function cell(x) { return x == "" ? "–" : sprintf("%.0f", median(x)) }
        END {
            split("open_close open_denied fork execve connect", order, " ")
            for (k = 1; k <= 5; k++) for (r = 1; r <= 3; r++) { op = order[k]; n = r == 1 ? 10 : r == 2 ? 1000 : 10000
                z = v["none_cmp " op]; j = v["jail_" n " " op]; l = v["landlock_" n " " op]; a = v["apparmor_" n " " op]
                if (z == "") continue
                note = ""
                if (op == "connect" && ABI < 4) { l = ""; note = " (Landlock: no TCP rules before ABI 4)" }
                printf "| %s%s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", op, note, n, cell(z), cell(j), cell(l), cell(a),
                    ratio(j, z), ratio(l, z), ratio(a, z), ratio(j, l), ratio(j, a) }
        }' "$log.clean"
    echo
    echo "Beside them: empty programs on the jail's hooks, and a jail of 1 000 rules loaded with the benchmark in no jail (what a jail costs everyone else):"
    echo
    echo "| operation | none | empty (jail hooks) | not jailed | not jailed / empty (target <= 1.15) | jailed 1 000 / empty (open: target <= 1.5) | jail 10 000 / 10 rules (target: within 5 %) |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    awk "$AWK_MEDIAN"'
        /^BENCH [a-z]/ { v[$2" "$3] = v[$2" "$3] " " $4 }
        END {
            split("open_close open_denied fork execve connect", order, " ")
            for (k = 1; k <= 5; k++) { op = order[k]; if (v["empty_jail " op] == "" || v["unjailed " op] == "") continue
                z = median(v["none_cmp " op]); e = median(v["empty_jail " op]); u = median(v["unjailed " op])
                printf "| %s | %.0f | %.0f | %.0f | %.3f | %.3f | %.3f |\n", op, z, e, u, u / e, median(v["jail_1000 " op]) / e, median(v["jail_10000 " op]) / median(v["jail_10 " op]) }
        }' "$log.clean"
    echo
    echo "Where the jail's open goes (tests/bench/parts.bpf.c: each part alone on file_open; open_close minus an empty program there, median of 3):"
    echo
    awk "$AWK_MEDIAN"'
        /^BENCH (part_[a-z_]+|none_cmp) open_close / { v[$2] = v[$2] " " $4 }
        END { if (v["part_open"] == "") exit
              e = median(v["part_open"])
              printf "- the BPF LSM trampoline and an empty program: %.0f (minus none)\n", e - median(v["none_cmp"])
              split("storage|a task-storage lookup;d_path|that lookup and bpf_d_path;lpm|that lookup, bpf_d_path and an LPM-trie lookup among 10 exact rules;probe|two reads by bpf_probe_read_kernel;cast|two reads through bpf_rdonly_cast;hash|a hash lookup of (role, dev, ino)", parts, ";")
              for (i = 1; i <= 6; i++) { split(parts[i], p, "|"); x = v["part_" p[1]]
                  printf "- %s: %s\n", p[2], x == "" ? "does not load here" : sprintf("%.0f", median(x) - e) } }' "$log.clean"
    echo
    echo "Loading the rules: guest time while each ran (M = 10^6 ns; under -icount an instruction is 1 ns, and waits, which the idle guest skips through, count in full), and in brackets its CPU time (user and system, at the tick's 4 ms resolution). bpflock: bootstrap with the jail alone (read, load, verify, attach, fill, pin), and its check alone (read and check the policy); AppArmor: apparmor_parser -r -K (compile and load); Landlock: build the ruleset, restrict, exec a no-op:"
    echo
    echo "| rules | bpflock bootstrap | bpflock check | apparmor_parser -r | Landlock ruleset |"
    echo "|---:|---:|---:|---:|---:|"
    awk '/^BENCH-TIME (load|check)_/ { split($2, p, "_"); k = p[1] " " p[2] " " p[3]; t[k] = $3 / 1e6; c[k] = $5 / 1e6; if ($4 != 0) t[k] = -1 }
         /^BENCH-TIME probe / { probe = $3 / 1e6; probe_cpu = $5 / 1e6 }
         function cell(k) { return !(k in t) ? "–" : t[k] < 0 ? "FAILED" : sprintf("%.1f M (%.0f M)", t[k], c[k]) }
         END { for (r = 1; r <= 3; r++) { n = r == 1 ? 10 : r == 2 ? 1000 : 10000
                   printf "| %d | %s | %s | %s | %s |\n", n, cell("load jail " n), cell("check jail " n), cell("load apparmor " n), cell("load landlock " n) }
               if (probe) printf "\nbpflock probe (load, attach and detach one empty LSM program): %.1f M (%.0f M CPU)\n", probe, probe_cpu }' "$log.clean"
}
for kernel in "$@"; do
    log="$out/console-$kernel.log"
    {
    echo "### $kernel ($(cat "$guest/kernel-$kernel/version"))"
    echo
    if grep -q '^BENCH bpflock ' "$log.clean"; then
    cost_table empty bpflock "bpflock default"
    echo
    echo "Every system-wide lock at baseline (kimglock, bpfrestrict, kmodlock, filelesslock, fslock, nslock, usblock; the benchmark in the initial pid namespace, so allowed), against empty programs on the same hooks:"
    echo
    cost_table empty_locks locks "all locks"
    echo
    echo "Sealed (docs/seal.md; the last phase of the boot, from a tmpfs root entered by chroot, as a seal needs a real root): every lock, kimglock, kmodlock and bpfrestrict restricted, and the seal's programs, against empty programs on the same hooks — the operations the sealed policy allows (it refuses ioperm, init_module and bpf_lookup):"
    echo
    cost_table empty_seal sealed "sealed" none_seal
    echo
    fi
    if grep -q '^BENCH none_cmp ' "$log.clean"; then
    echo "The jail against Landlock and AppArmor (instructions per operation, median of 3 rounds; rule sets of 10, 1 000 and 10 000 rules of each kind the confinement has, written by tests/bench/run.sh; open_denied is refused by all three; connect: bpflock's rules are CIDRs, Landlock's ports, AppArmor has one rule, a family and a type):"
    echo
    compare_table
    echo
    fi
    if grep -q '^BENCH-TIME bootstrap_default ' "$log.clean"; then
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
    fi
    } >> "$report"
done

# On this host: size, and bootstrap's userspace time to its first program load.
bin=${BPFLOCK_amd64:-}
[[ -x $bin ]] || { cat "$report"; exit 0; }
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
