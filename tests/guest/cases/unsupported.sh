# bpflock-suite: named-only
# A kernel that lists bpf among its LSMs but cannot attach BPF LSM programs (bookworm's
# arm64 6.1: no ftrace direct calls). bpflock must say so and pin nothing.
# Sourced by /init after lib.sh.

begin unsupported_bootstrap_refused
run 3 bpflock bootstrap
contains "not supported by this kernel: BPF LSM"
contains "attach"
contains "nothing was pinned"
[ -z "$(ls -A $ROOT 2>/dev/null)" ] || fail "something was pinned: $(ls -R $ROOT | tr '\n' ' ')"
end

begin unsupported_probe_says_why
run 3 bpflock probe
contains "attach"
end
