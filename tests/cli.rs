//! Host tests of the bpflock binary: policy validation and the kernel probe on this host.
//! Enforcement is proven in QEMU guests (tests/guest.rs).

use std::{fs, path::Path, process::Command};

fn bpflock(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bpflock")).args(args).output().expect("bpflock runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every bad policy in tests/policies is refused with exit 2 and an error at the
/// LINE:COL its first line names (`# expect: LINE:COL message`).
#[test]
fn bad_policies_are_refused_at_their_location() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policies");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("bad-") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let expect = text.lines().next().unwrap().strip_prefix("# expect: ").expect("expect line");
        let (location, message) = expect.split_once(' ').unwrap();
        let p = path.to_str().unwrap();
        let (code, _, stderr) = bpflock(&["check", p]);
        assert_eq!(code, 2, "{name}: exit code; stderr: {stderr}");
        let first = stderr.lines().next().unwrap_or("");
        let want = format!("{p}:{location}: error: ");
        assert!(first.starts_with(&want), "{name}: want '{want}...', got '{first}'");
        assert!(first.contains(message), "{name}: want '{message}' in '{first}'");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} bad policies found");
}

#[test]
fn good_policies_are_accepted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Every example policy users copy, and the guests' good ones.
    let mut policies: Vec<_> = std::fs::read_dir(root.join("policy"))
        .unwrap()
        .flatten()
        .map(|e| format!("policy/{}", e.file_name().to_string_lossy()))
        .collect();
    policies.sort();
    assert!(policies.len() >= 6, "{policies:?}");
    for p in ["tests/policies/status.toml", "tests/policies/kimglock-block-kcore.toml", "tests/policies/lockdown.toml"]
    {
        policies.push(p.into());
    }
    for p in &policies {
        let (code, stdout, stderr) = bpflock(&["check", root.join(p).to_str().unwrap()]);
        assert_eq!(code, 0, "{p}: {stderr}");
        assert!(stdout.contains(": valid"), "{p}: {stdout}");
    }
}

#[test]
fn check_shows_overrides() {
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/policy/default.toml");
    let (code, stdout, _) =
        bpflock(&["check", policy, "--kimglock-allow=debugfs,ioport", "--bpfrestrict-profile=restricted"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("kimglock: baseline (allow: ioport, debugfs)"), "{stdout}");
    assert!(stdout.contains("bpfrestrict: restricted"), "{stdout}");
}

#[test]
fn bad_command_lines_exit_2() {
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/policy/default.toml");
    for args in [
        vec!["check", policy, "--kimglock-profile=strict"],
        vec!["check", policy, "--kimglock-block=nosuch"],
        vec!["check", policy, "--bpfrestrict-profile=restricted", "--bpfrestrict-block=map_create"],
        vec!["remove", "nosuch", "--pin-root", "/nonexistent"],
        vec!["frobnicate"],
    ] {
        let (code, _, stderr) = bpflock(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(!stderr.is_empty(), "{args:?}: no message");
    }
    let (code, _, stderr) = bpflock(&["check", "/nonexistent/policy.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot read policy /nonexistent/policy.toml"), "{stderr}");
}

/// bpflock with `input` on its standard input, killed if it runs past 20 s (a hang).
fn bpflock_stdin(args: &[&str], input: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpflock"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bpflock runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("bpflock {args:?} hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = writer.join();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What is not a policy file is refused before it is read (a FIFO would hang, /dev/zero
/// never ends), with exit 2 as any invalid input.
#[test]
fn files_that_are_not_policies_exit_2() {
    let dir = tempdir("bpflock-cli-files");
    let fifo = dir.join("fifo.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let big = dir.join("big.toml");
    fs::write(&big, "#".repeat((1 << 20) + 1)).unwrap();
    let cases = [
        (dir.to_str().unwrap().to_string(), "is a directory"),
        ("/dev/zero".to_string(), "is a device"),
        ("/dev/urandom".to_string(), "is a device"),
        (fifo.to_str().unwrap().to_string(), "is a FIFO"),
        (big.to_str().unwrap().to_string(), "larger than a policy may be (1 MiB)"),
        ("/nonexistent/policy.toml".to_string(), "No such file"),
    ];
    for (path, why) in cases {
        let (code, _, stderr) = bpflock_stdin(&["check", &path], b"");
        assert_eq!(code, 2, "{path}: {stderr}");
        assert!(stderr.contains(why), "{path}: want '{why}' in {stderr}");
    }
    // Standard input is bounded too.
    let (code, _, stderr) = bpflock_stdin(&["check", "-"], &vec![b'#'; (1 << 20) + 10]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("larger than a policy may be"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn non_utf8_is_located() {
    let (code, _, stderr) = bpflock_stdin(&["check", "-"], b"[kimglock]\nprofile = \"baseline\"\n# caf\xc3\xa9 \xff\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with("<stdin>:3:8: error: not UTF-8 text: byte 0xff"), "{stderr}");
}

/// Every error of a file, in order, each at its place and naming its full key.
#[test]
fn every_error_is_reported() {
    let text = "[kimglock]\nprofile = \"baseline\"\nalow = [\"kcore\"]\nbolck = []\n\
                [kmodlock]\nprofile = \"baseine\"\n[jail]\n[roles.web]\nfile.dney = [\"/x\"]\n[bogus]\n";
    let (code, _, stderr) = bpflock_stdin(&["check", "-"], text.as_bytes());
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let want = [
        "<stdin>:3:1: error: kimglock.alow: unknown key (did you mean `allow`?)",
        "<stdin>:4:1: error: kimglock.bolck: unknown key (did you mean `block`?)",
        "<stdin>:6:11: error: kmodlock.profile: unknown profile \"baseine\" (did you mean `baseline`?)",
        "<stdin>:9:6: error: roles.web.file.dney: unknown key (did you mean `deny`?)",
        "<stdin>:10:2: error: bogus: unknown section",
    ];
    for (i, w) in want.iter().enumerate() {
        assert!(lines.get(i).is_some_and(|l| l.starts_with(w)), "line {i}: want '{w}...' in:\n{stderr}");
    }
    assert!(stderr.contains("invalid policy (5 errors): nothing was loaded"), "{stderr}");
}

/// An empty (truncated) file is not a decision to protect nothing; saying so is.
#[test]
fn a_policy_that_loads_nothing_must_say_so() {
    for text in ["", "# nothing\n", "[kimglock]\nprofile = \"allow\"\n"] {
        let (code, _, stderr) = bpflock_stdin(&["check", "-"], text.as_bytes());
        assert_eq!(code, 2, "{text:?}: {stderr}");
        assert!(stderr.contains("the policy enables no protection"), "{stderr}");
    }
    let (code, stdout, stderr) = bpflock_stdin(&["check", "-"], b"[bpflock]\nprotections = \"none\"\n");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("<stdin>: valid"), "{stdout}");
}

#[test]
fn check_reads_the_policy_as_bootstrap_does() {
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/policy/default.toml");
    for args in [vec!["check", "-p", policy], vec!["check", "--policy", policy], vec!["check", policy]] {
        let (code, stdout, stderr) = bpflock(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stdout.contains(&format!("{policy}: valid")), "{stdout}");
    }
    // No file named: /etc/bpflock/policy.toml, or the built-in default where there is none.
    let (code, stdout, stderr) = bpflock(&["check"]);
    assert_eq!(code, 0, "{stderr}");
    match Path::new("/etc/bpflock/policy.toml").exists() {
        true => assert!(stdout.contains("/etc/bpflock/policy.toml: valid"), "{stdout}"),
        false => assert!(stdout.contains("built-in default policy: valid"), "{stdout}"),
    }
}

/// Every --json output is JSON and carries bpflock's version.
#[test]
fn json_outputs_carry_the_version() {
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/policy/default.toml");
    let bad = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/policies/bad-wrong-type.toml");
    let version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    for (args, code, want) in [
        (vec!["check", "--json", policy], 0, "\"valid\": true"),
        (vec!["check", "--json", bad], 2, "\"line\": 3"),
        (vec!["operations", "--json"], 0, "\"name\": \"map_create\""),
        (vec!["status", "--json", "--pin-root", "/nonexistent/bpflock"], 5, "\"protections\": []"),
    ] {
        let (got, stdout, stderr) = bpflock(&args);
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stdout.trim_start().starts_with('{') && stdout.trim_end().ends_with('}'), "{args:?}: {stdout}");
        assert!(stdout.contains(&version), "{args:?}: {stdout}");
        assert!(stdout.contains(want), "{args:?}: want {want} in {stdout}");
    }
}

#[test]
fn every_protection_is_named_in_the_cli() {
    let (_, help, _) = bpflock(&["remove", "--help"]);
    let (_, ops, _) = bpflock(&["operations"]);
    for p in ["kimglock", "kmodlock", "filelesslock", "jail", "bpfrestrict"] {
        assert!(help.contains(p), "remove --help lacks {p}: {help}");
        assert!(ops.contains(&format!("{p}:")), "operations lacks {p}: {ops}");
    }
}

/// `run --role R CMD ARGS...` needs no `--` (a command's own options are its own).
#[test]
fn run_takes_the_command_without_dashes() {
    for args in [
        vec!["run", "--role", "web", "--pin-root", "/nonexistent/bpflock", "ls", "-l"],
        vec!["run", "--role", "web", "--pin-root", "/nonexistent/bpflock", "--", "ls", "-l"],
    ] {
        let (code, _, stderr) = bpflock(&args);
        assert_ne!(code, 2, "{args:?}: the command line was refused: {stderr}");
    }
}

/// A command that removes creates nothing: no pin root, no mount.
#[test]
fn remove_with_nothing_pinned_creates_nothing() {
    let dir = tempdir("bpflock-cli-remove");
    let root = dir.join("sub/bpflock");
    for args in [vec!["remove", "--all"], vec!["remove", "kimglock"]] {
        let mut args = args.clone();
        args.extend(["--pin-root", root.to_str().unwrap()]);
        let (code, _, stderr) = bpflock(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stderr.contains("nothing pinned"), "{stderr}");
        assert!(!dir.join("sub").exists(), "{args:?} created {}", dir.join("sub").display());
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Without privilege: "run as root", exit 4 — not "the kernel refuses", not "nothing pinned".
#[test]
fn unprivileged_use_says_so() {
    if !is_root() {
        eprintln!("skipped: needs root to drop to another user and to mount a BPF filesystem");
        return;
    }
    use std::os::unix::process::CommandExt;
    let as_nobody = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_bpflock"))
            .args(args)
            .uid(65534)
            .gid(65534)
            .output()
            .expect("bpflock runs");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // The policy as installed: mode 600, unreadable to the user too.
    let private = tempdir("bpflock-cli-private-policy").join("policy.toml");
    fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/policy/default.toml"), &private).unwrap();
    fs::set_permissions(&private, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let policy = private.to_str().unwrap();
    for cmd in ["probe", "bootstrap"] {
        let (code, stderr) = as_nobody(&[cmd, "--policy", policy, "--pin-root", "/nonexistent/bpflock"]);
        assert_eq!(code, 4, "{cmd}: {stderr}");
        assert!(stderr.contains("lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) (run as root)"), "{stderr}");
        assert!(!stderr.contains("refuses"), "{cmd}: {stderr}");
    }
    // Something pinned where an unprivileged user cannot look (as /sys/fs/bpf, mode 700).
    let bpffs = tempdir("bpflock-cli-unprivileged");
    fs::set_permissions(&bpffs, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mounted =
        nix::mount::mount(Some("bpf"), bpffs.as_path(), Some("bpf"), nix::mount::MsFlags::empty(), Some("mode=0700"));
    assert!(mounted.is_ok(), "cannot mount a bpffs for the test: {mounted:?}");
    fs::create_dir_all(bpffs.join("bpflock/kimglock")).unwrap();
    let root = bpffs.join("bpflock");
    let (code, stderr) = as_nobody(&["status", "--pin-root", root.to_str().unwrap()]);
    let (remove_code, remove_err) = as_nobody(&["remove", "--all", "--pin-root", root.to_str().unwrap()]);
    let (root_code, _, _) = bpflock(&["status", "--pin-root", root.to_str().unwrap()]);
    let still = root.join("kimglock").exists();
    let _ = nix::mount::umount(bpffs.as_path());
    let _ = fs::remove_dir(&bpffs);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("cannot see") && stderr.contains("(run as root)"), "{stderr}");
    assert_eq!(remove_code, 4, "{remove_err}");
    assert!(still, "an unprivileged remove removed something");
    assert_eq!(root_code, 0, "status as root sees the pinned directory");
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The host is a test case too. Its kernel lists BPF LSM but refuses LSM programs:
/// bootstrap must say so, exit 3 and pin nothing. On a host whose kernel does accept
/// them, bootstrap into a private pin root must succeed and be removable.
#[test]
fn host_kernel_probe_is_truthful() {
    if !is_root() {
        eprintln!("skipped: needs root to load BPF programs");
        return;
    }
    let bpffs = tempdir("bpflock-host-test");
    let mounted =
        nix::mount::mount(Some("bpf"), bpffs.as_path(), Some("bpf"), nix::mount::MsFlags::empty(), None::<&str>);
    assert!(mounted.is_ok(), "cannot mount a bpffs for the test: {mounted:?}");
    let root = bpffs.join("bpflock");
    let (code, _, stderr) = bpflock(&["bootstrap", "--pin-root", root.to_str().unwrap()]);
    let (probe_code, probe_out, probe_err) = bpflock(&["probe"]);
    let pinned = root.exists();
    let _ = bpflock(&["remove", "--all", "--pin-root", root.to_str().unwrap()]);
    let _ = nix::mount::umount(bpffs.as_path());
    let _ = fs::remove_dir(&bpffs);
    if code == 3 {
        assert!(stderr.contains("not supported by this kernel: BPF LSM"), "{stderr}");
        assert!(stderr.contains("nothing was pinned"), "{stderr}");
        assert!(!pinned, "bootstrap exited 3 but pinned something");
        assert_eq!(probe_code, 3, "probe disagrees with bootstrap: {probe_out}{probe_err}");
        let listed = fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
        if listed.split(',').any(|m| m.trim() == "bpf") {
            assert!(stderr.contains("listed in /sys/kernel/security/lsm, but this kernel refuses"), "{stderr}");
        }
    } else {
        assert_eq!(code, 0, "bootstrap failed: {stderr}");
        assert!(pinned, "bootstrap succeeded but pinned nothing");
        assert_eq!(probe_code, 0, "{probe_out}{probe_err}");
    }
}

fn tempdir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// `bpflock operations | head -1`: a reader that goes away ends bpflock quietly (SIGPIPE, as
/// any command-line tool), never with an abort (Rust's println! panics on EPIPE).
#[test]
fn closed_stdout_is_not_an_abort() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpflock"))
        .arg("operations")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bpflock runs");
    drop(child.stdout.take()); // the reader is gone before bpflock writes
    let out = child.wait_with_output().expect("bpflock ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.signal(), Some(libc::SIGABRT), "aborted: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}: {stderr}", out.status);
}

/// A sealed policy must close the doors into the running kernel (docs/seal.md): each left
/// open is named, from the file's `seal` or the `--seal` flag, and nothing loads (exit 2).
#[test]
fn a_sealed_policy_must_close_the_kernel() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let open_doors = dir.join("tests/policies/bad-seal-open-doors.toml");
    let (code, _, stderr) = bpflock(&["check", open_doors.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    for gap in ["kmodlock: not enabled", "kimglock: baseline leaves", "block kexec"] {
        assert!(stderr.contains(gap), "want '{gap}' in: {stderr}");
    }
    assert!(!stderr.contains("bpfrestrict:"), "restricted bpfrestrict closes its door: {stderr}");
    let sealable = dir.join("tests/policies/sealable.toml");
    let sealable = sealable.to_str().unwrap();
    let (code, _, stderr) = bpflock(&["check", sealable, "--seal"]);
    assert_eq!(code, 0, "the sealable policy, sealed: {stderr}");
    // Weakened on the command line: a lock in complain mode, a bpfrestrict that lets
    // programs load.
    for weaker in ["--kmodlock-mode=complain", "--bpfrestrict-block=map_create", "--kimglock-profile=allow"] {
        let (code, _, stderr) = bpflock(&["check", sealable, "--seal", weaker]);
        assert_eq!(code, 2, "{weaker}: {stderr}");
        assert!(stderr.contains("--seal: bpflock.seal: a sealed policy"), "{weaker}: {stderr}");
    }
    let (code, _, stderr) = bpflock(&["check", "--seal", dir.join("policy/default.toml").to_str().unwrap()]);
    assert_eq!(code, 2, "the default policy has no kmodlock: {stderr}");
}
