//! Enforcement tests: boots each Debian guest kernel under QEMU with an initramfs that
//! carries the static bpflock, `testops` and tests/guest/cases.sh, and turns every
//! `BPFLOCK-CASE` line of the serial console into one test result here.
//!
//! `make test` prepares the guest (kernels, initramfs) and sets BPFLOCK_GUEST_DIR. Run
//! alone, without it, every case is reported as ignored, with how to run it.

use std::{
    collections::HashMap,
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use libtest_mimic::{Arguments, Failed, Trial};

/// cases.sh, and the jail cases it sources at its end.
const CASES: [&str; 2] = [include_str!("guest/cases.sh"), include_str!("guest/jail.sh")];
/// A guest that has not finished by then is killed; a run takes well under a minute.
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);

/// Case names in the order cases.sh runs them (`begin NAME` lines).
fn case_names() -> Vec<String> {
    CASES
        .iter()
        .flat_map(|c| c.lines())
        .filter_map(|l| l.strip_prefix("begin "))
        .map(|n| n.trim().to_string())
        .collect()
}

struct Boot {
    /// Case name -> None (passed) or Some(failure detail).
    results: HashMap<String, Option<String>>,
    finished: bool,
    log: PathBuf,
    tail: String,
}

/// The kernel's own initrd (shared archive + its modules) where `make` built one.
fn initrd(guest_dir: &Path, kernel: &str) -> PathBuf {
    let own = guest_dir.join(format!("initramfs-{kernel}.cpio.gz"));
    if own.exists() {
        own
    } else {
        guest_dir.join("initramfs.cpio.gz")
    }
}

/// A read-only virtio disk for the kmodlock ro_dev case, where mkmodules.sh made one.
fn rodisk(guest_dir: &Path, kernel: &str) -> Vec<String> {
    let img = guest_dir.join(format!("modules-{kernel}.rodisk.img"));
    if img.exists() {
        vec!["-drive".into(), format!("file={},if=virtio,readonly=on,format=raw", img.display())]
    } else {
        vec![]
    }
}

fn boot(guest_dir: &Path, kernel: &str) -> Boot {
    let kdir = guest_dir.join(format!("kernel-{kernel}"));
    let log = guest_dir.join(format!("console-{kernel}.log"));
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-m", "1024", "-smp", "1", "-no-reboot", "-display", "none"])
        .args(["-monitor", "none", "-serial", &format!("file:{}", log.display())])
        .arg("-kernel")
        .arg(kdir.join("vmlinuz"))
        .arg("-initrd")
        .arg(initrd(guest_dir, kernel))
        .args(["-append", "console=ttyS0 panic=-1 oops=panic quiet"])
        .args(rodisk(guest_dir, kernel))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-x86_64 starts (apt-get install qemu-system-x86)");
    while child.try_wait().expect("waiting for qemu").is_none() {
        if start.elapsed() > BOOT_TIMEOUT {
            let _ = child.kill();
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    let _ = child.wait();
    let console = fs::read_to_string(&log).unwrap_or_default();
    let mut results = HashMap::new();
    for line in console.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(rest) = line.strip_prefix("BPFLOCK-CASE PASS ") {
            results.insert(rest.trim().to_string(), None);
        } else if let Some(rest) = line.strip_prefix("BPFLOCK-CASE FAIL ") {
            let (name, detail) = rest.split_once(':').unwrap_or((rest, ""));
            results.insert(name.trim().to_string(), Some(detail.trim().to_string()));
        }
    }
    let finished = console.contains("BPFLOCK-GUEST-END");
    let lines: Vec<&str> = console.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    eprintln!("guest {kernel}: {:.1} s, console in {}", start.elapsed().as_secs_f64(), log.display());
    Boot { results, finished, log, tail }
}

fn main() {
    let args = Arguments::from_args();
    let cases = case_names();
    let kernels: Vec<String> = env::var("BPFLOCK_GUEST_KERNELS")
        .unwrap_or_else(|_| "bookworm trixie".into())
        .split_whitespace()
        .map(String::from)
        .collect();
    let Some(guest_dir) = env::var_os("BPFLOCK_GUEST_DIR").map(PathBuf::from) else {
        eprintln!("BPFLOCK_GUEST_DIR is not set: guest cases ignored; run them with `make test-guest`");
        let trials = kernels
            .iter()
            .flat_map(|k| {
                cases.iter().map(move |c| Trial::test(format!("{k}::{c}"), || Ok(())).with_ignored_flag(true))
            })
            .collect();
        libtest_mimic::run(&args, trials).exit();
    };
    // Both guests at once: each QEMU TCG guest runs on one core.
    let boots: Vec<(String, Boot)> = thread::scope(|s| {
        let handles: Vec<_> = kernels
            .iter()
            .map(|k| {
                let dir = guest_dir.clone();
                (k.clone(), s.spawn(move || boot(&dir, k)))
            })
            .collect();
        handles.into_iter().map(|(k, h)| (k, h.join().expect("boot thread"))).collect()
    });
    let mut trials = Vec::new();
    for (kernel, boot) in boots {
        let finished = boot.finished;
        let tail = boot.tail.clone();
        let log = boot.log.clone();
        trials.push(Trial::test(format!("{kernel}::guest_ran_every_case"), move || {
            if finished {
                Ok(())
            } else {
                Err(Failed::from(format!(
                    "the guest never reached the end of cases.sh (see {}); last console lines:\n{tail}",
                    log.display()
                )))
            }
        }));
        for case in &cases {
            let outcome = boot.results.get(case).cloned();
            let log = boot.log.clone();
            trials.push(Trial::test(format!("{kernel}::{case}"), move || match outcome {
                Some(None) => Ok(()),
                Some(Some(detail)) => Err(Failed::from(detail)),
                None => Err(Failed::from(format!("the guest never reported this case (see {})", log.display()))),
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
