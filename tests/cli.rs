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
    for p in ["policy/default.toml", "tests/policies/status.toml", "tests/policies/kimglock-block-kcore.toml"] {
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
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot read policy /nonexistent/policy.toml"), "{stderr}");
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
