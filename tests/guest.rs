//! Enforcement tests: boots Debian guest kernels under QEMU with an initramfs that carries
//! the static bpflock, `testops` and the case suites of tests/guest/, and turns every
//! `BPFLOCK-CASE` line of the serial console into one test result here, named
//! `GUEST::case`.
//!
//! BPFLOCK_GUESTS lists the guests, each `KERNEL[+ARG=VALUE...][:SUITE,...]`: the kernel of
//! `target/guest/kernel-KERNEL` (a name ending in `-arm64` boots in qemu-system-aarch64),
//! extra kernel command line arguments (`sid+lockdown=integrity`), and the suites it runs:
//! tests/guest/cases/SUITE.sh, found there. Every suite runs by default (`bootstrap`, one per
//! protection, named after it, and the shared ones), except those marked
//! `# bpflock-suite: named-only` (they need a boot of their own); `-SUITE` leaves one out
//! (`trixie-arm64:-audit`). Guests boot two at a time, one core each, the slowest first.
//!
//! `make test` prepares the guests (kernels, initramfs) and sets BPFLOCK_GUEST_DIR. Run
//! alone, without it, every case is reported as ignored, with how to run it.

use std::{
    collections::HashMap,
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use libtest_mimic::{Arguments, Failed, Trial};

const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/guest/cases");
/// A suite that runs only where a guest names it.
const NAMED_ONLY: &str = "# bpflock-suite: named-only";

/// The suites, by the name the guest's /init sources them (tests/guest/cases/NAME.sh), in
/// the order they run: bootstrap, the protections in setup order, then the others.
fn suites() -> Vec<(String, String)> {
    let mut suites: Vec<(String, String)> = fs::read_dir(CASES_DIR)
        .unwrap_or_else(|e| panic!("{CASES_DIR}: {e}"))
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.strip_suffix(".sh")?.to_string();
            Some((name, fs::read_to_string(e.path()).ok()?))
        })
        .collect();
    let rank = |name: &str| match bpflock::protections::ALL.iter().position(|p| p.name() == name) {
        _ if name == "bootstrap" => 0,
        Some(i) => 1 + i,
        None => usize::MAX,
    };
    suites.sort_by_key(|(name, _)| (rank(name), name.clone()));
    suites
}

const DEFAULT_GUESTS: &str = "bookworm trixie";
/// A guest that has not finished by then is killed. TCG on a loaded 2-core host: an x86
/// guest takes 8 to 11 minutes; an arm64 one 33 to 42 (every suite but audit, beside the
/// other arm64 guest): its limit is wider.
const BOOT_TIMEOUT: Duration = Duration::from_secs(1500);
const BOOT_TIMEOUT_ARM64: Duration = Duration::from_secs(3600);
/// Guests booted at once: each QEMU TCG guest runs on one core.
const PARALLEL: usize = 2;

/// Case names of a suite, in the order it runs them (`begin NAME` lines).
fn case_names(suite: &str) -> Vec<String> {
    let all = suites();
    let text = all.iter().find(|(n, _)| n == suite).map(|(_, t)| t).unwrap_or_else(|| {
        panic!("unknown guest suite {suite:?} (known: {:?})", all.iter().map(|(n, _)| n).collect::<Vec<_>>())
    });
    text.lines().filter_map(|l| l.strip_prefix("begin ")).map(|n| n.trim().to_string()).collect()
}

/// The suites a guest spec names: the default ones, less `-NAME`s, or those listed.
fn chosen_suites(list: Option<&str>) -> Vec<String> {
    let items: Vec<&str> = list.map(|l| l.split(',').collect()).unwrap_or_default();
    let (left_out, named): (Vec<&str>, Vec<&str>) = items.iter().partition(|i| i.starts_with('-'));
    if !named.is_empty() {
        return named.iter().map(|s| s.to_string()).collect();
    }
    suites()
        .into_iter()
        .filter(|(name, text)| {
            !text.lines().any(|l| l.trim() == NAMED_ONLY) && !left_out.contains(&format!("-{name}").as_str())
        })
        .map(|(name, _)| name)
        .collect()
}

struct Guest {
    /// The test-name prefix: the kernel, and `+lockdown=MODE` where booted so.
    name: String,
    /// target/guest/kernel-KERNEL
    kernel: String,
    suites: Vec<String>,
    /// The suites as the spec gave them, for the matrix table ("all", "all but audit").
    suites_spec: String,
    /// Kernel command line arguments beyond the console's.
    append: String,
}

impl Guest {
    fn arm64(&self) -> bool {
        self.kernel.ends_with("-arm64")
    }

    fn cases(&self) -> Vec<String> {
        self.suites.iter().flat_map(|s| case_names(s)).collect()
    }
}

#[derive(Clone)]
enum Outcome {
    Pass,
    Fail(String),
    /// The guest cannot run this case (it says why): reported as ignored.
    Skip(String),
}

struct Boot {
    results: HashMap<String, Outcome>,
    /// `uname -r` in the guest, from its first line.
    release: Option<String>,
    seconds: f64,
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

/// The kernel command line argument that has /init switch_root into a disk (the rootfs suite).
const ROOTDISK_ARG: &str = "bpflock.rootdisk";

/// For a guest booted with `bpflock.rootdisk`: a fresh empty ext2 disk, serial
/// `bpflock-root`, that /init copies itself onto and makes its root.
fn rootdisk(guest_dir: &Path, guest: &Guest) -> Vec<String> {
    if !guest.append.split_whitespace().any(|a| a == ROOTDISK_ARG) {
        return vec![];
    }
    let img = guest_dir.join(format!("rootdisk-{}.img", guest.name.replace(['+', '='], "-")));
    let _ = fs::remove_file(&img);
    let made = Command::new("mke2fs")
        .args(["-q", "-t", "ext2", "-F"])
        .arg(&img)
        .arg("128M")
        .status()
        .unwrap_or_else(|e| panic!("mke2fs (e2fsprogs) runs: {e}"));
    assert!(made.success(), "mke2fs {} failed", img.display());
    vec![
        "-drive".into(),
        format!("file={},if=none,id=rootdisk,format=raw", img.display()),
        "-device".into(),
        "virtio-blk-pci,drive=rootdisk,serial=bpflock-root".into(),
    ]
}

/// The suite that plugs USB devices (tests/guest/cases/usblock.sh).
const USB_SUITE: &str = "usblock";

/// For a guest running the usblock suite: an xHCI controller, a keyboard plugged at boot
/// (port 4), the backends of the devices the guest asks to plug (a USB stick's disk, a
/// network), and QEMU's QMP socket to plug them through.
fn usb(guest_dir: &Path, guest: &Guest, qmp: &Path) -> Vec<String> {
    if !guest.suites.iter().any(|s| s == USB_SUITE) {
        return vec![];
    }
    let tag = guest.name.replace(['+', '='], "-");
    let content = guest_dir.join(format!("usbstick-{tag}"));
    let img = guest_dir.join(format!("usbstick-{tag}.img"));
    let _ = fs::remove_dir_all(&content);
    fs::create_dir_all(&content).expect("stick content dir");
    fs::write(content.join("marker"), "bpflock usb stick\n").expect("stick marker");
    let _ = fs::remove_file(&img);
    let made = Command::new("mke2fs")
        .args(["-q", "-t", "ext2", "-F", "-L", "BPFSTICK", "-d"])
        .arg(&content)
        .arg(&img)
        .arg("8M")
        .status()
        .unwrap_or_else(|e| panic!("mke2fs (e2fsprogs) runs: {e}"));
    assert!(made.success(), "mke2fs {} failed", img.display());
    let _ = fs::remove_file(qmp);
    [
        "-device",
        "qemu-xhci,id=xhci",
        "-device",
        "usb-kbd,bus=xhci.0,port=4,id=kbd0",
        "-blockdev",
        &format!("driver=raw,node-name=stick,file.driver=file,file.filename={}", img.display()),
        "-netdev",
        "hubport,id=usbnet0,hubid=0",
        "-qmp",
        &format!("unix:{},server=on,wait=off", qmp.display()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The devices a guest may ask for, by name: `BPFLOCK-QEMU SEQ plug NAME`.
fn usb_device(name: &str) -> Option<&'static str> {
    Some(match name {
        "kbd1" => r#"{"driver":"usb-kbd","id":"kbd1","bus":"xhci.0","port":"1"}"#,
        "stick1" => r#"{"driver":"usb-storage","id":"stick1","bus":"xhci.0","port":"2","drive":"stick","serial":"BPFLOCK-STICK"}"#,
        "net1" => r#"{"driver":"usb-net","id":"net1","bus":"xhci.0","port":"3","netdev":"usbnet0"}"#,
        _ => return None,
    })
}

/// One QMP command on a fresh connection; the reply, or what went wrong.
fn qmp_command(socket: &Path, command: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = None;
    for _ in 0..50 {
        match std::os::unix::net::UnixStream::connect(socket) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
    let Some(mut stream) = stream else { return format!("cannot connect to {}", socket.display()) };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("a unix stream clones"));
    let mut reply = |stream: &mut std::os::unix::net::UnixStream, line: &str| -> String {
        if !line.is_empty() && writeln!(stream, "{line}").is_err() {
            return "write failed".into();
        }
        let mut got = String::new();
        loop {
            got.clear();
            match reader.read_line(&mut got) {
                Ok(0) | Err(_) => return format!("no reply: {got}"),
                Ok(_) if got.contains("\"event\"") => continue,
                Ok(_) => return got.trim().to_string(),
            }
        }
    };
    let greeting = reply(&mut stream, "");
    let caps = reply(&mut stream, r#"{"execute":"qmp_capabilities"}"#);
    let answer = reply(&mut stream, command);
    format!("{greeting} | {caps} | {command} -> {answer}")
}

/// Carries out the guest's `BPFLOCK-QEMU SEQ VERB NAME` requests that appeared in the
/// console since `done` (the highest SEQ handled), logging to `qmp_log`.
fn serve_qemu_requests(console: &Path, socket: &Path, qmp_log: &Path, read: &mut u64, done: &mut u64) {
    use std::io::{Read, Seek};
    let Ok(mut file) = fs::File::open(console) else { return };
    let mut bytes = Vec::new();
    if file.seek(std::io::SeekFrom::Start(*read)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return;
    }
    // Whole lines only: the rest is read again next time.
    let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else { return };
    *read += end as u64 + 1;
    let text = String::from_utf8_lossy(&bytes[..end]);
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        let Some(rest) = line.strip_prefix("BPFLOCK-QEMU ") else { continue };
        let mut words = rest.split_whitespace();
        let (Some(Ok(seq)), Some(verb), Some(name)) = (words.next().map(str::parse::<u64>), words.next(), words.next())
        else {
            continue;
        };
        if seq <= *done {
            continue;
        }
        *done = seq;
        let command = match (verb, usb_device(name)) {
            ("plug", Some(device)) => format!(r#"{{"execute":"device_add","arguments":{device}}}"#),
            ("unplug", Some(_)) => format!(r#"{{"execute":"device_del","arguments":{{"id":"{name}"}}}}"#),
            _ => {
                let _ = fs::write(qmp_log, format!("unknown request: {line}\n"));
                continue;
            }
        };
        let outcome = qmp_command(socket, &command);
        let mut log = fs::OpenOptions::new().create(true).append(true).open(qmp_log).expect("qmp log opens");
        let _ = std::io::Write::write_all(&mut log, format!("{seq} {verb} {name}: {outcome}\n").as_bytes());
    }
}

fn boot(guest_dir: &Path, guest: &Guest) -> Boot {
    let kdir = guest_dir.join(format!("kernel-{}", guest.kernel));
    let log = guest_dir.join(format!("console-{}.log", guest.name.replace(['+', '='], "-")));
    let start = Instant::now();
    // sun_path holds 108 bytes: the socket goes in the temporary directory.
    let qmp = env::temp_dir().join(format!("bpflock-qmp-{}-{}.sock", std::process::id(), guest.name.replace(['+', '='], "-")));
    let qmp_log = guest_dir.join(format!("qmp-{}.log", guest.name.replace(['+', '='], "-")));
    let _ = fs::remove_file(&qmp_log);
    let (mut console_read, mut qemu_requests_done) = (0, 0);
    let serves_usb = guest.suites.iter().any(|s| s == USB_SUITE);
    let (qemu, machine, console): (&str, &[&str], &str) = if guest.arm64() {
        ("qemu-system-aarch64", &["-M", "virt", "-cpu", "max"], "ttyAMA0")
    } else {
        ("qemu-system-x86_64", &[], "ttyS0")
    };
    let append = format!(
        "console={console} panic=-1 oops=panic quiet bpflock.suites={} {}",
        guest.suites.join(","),
        guest.append
    );
    let mut child = Command::new(qemu)
        .args(machine)
        .args(["-accel", "tcg", "-m", "1024", "-smp", "1", "-no-reboot", "-display", "none"])
        .args(["-monitor", "none", "-serial", &format!("file:{}", log.display())])
        .arg("-kernel")
        .arg(kdir.join("vmlinuz"))
        .arg("-initrd")
        .arg(initrd(guest_dir, &guest.kernel))
        .args(["-append", append.trim_end()])
        .args(rodisk(guest_dir, &guest.kernel))
        .args(rootdisk(guest_dir, guest))
        .args(usb(guest_dir, guest, &qmp))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{qemu} starts (make deps installs it): {e}"));
    let limit = if guest.arm64() { BOOT_TIMEOUT_ARM64 } else { BOOT_TIMEOUT };
    while child.try_wait().expect("waiting for qemu").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        thread::sleep(Duration::from_millis(200));
        if serves_usb {
            serve_qemu_requests(&log, &qmp, &qmp_log, &mut console_read, &mut qemu_requests_done);
        }
    }
    let _ = child.wait();
    let _ = fs::remove_file(&qmp);
    let console = fs::read_to_string(&log).unwrap_or_default();
    let mut results = HashMap::new();
    for line in console.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(rest) = line.strip_prefix("BPFLOCK-CASE PASS ") {
            results.insert(rest.trim().to_string(), Outcome::Pass);
        } else if let Some(rest) = line.strip_prefix("BPFLOCK-CASE FAIL ") {
            let (name, detail) = rest.split_once(':').unwrap_or((rest, ""));
            results.insert(name.trim().to_string(), Outcome::Fail(detail.trim().to_string()));
        } else if let Some(rest) = line.strip_prefix("BPFLOCK-CASE SKIP ") {
            let (name, detail) = rest.split_once(':').unwrap_or((rest, ""));
            results.insert(name.trim().to_string(), Outcome::Skip(detail.trim().to_string()));
        }
    }
    let finished = console.contains("BPFLOCK-GUEST-END");
    let release = console
        .lines()
        .find_map(|l| l.trim_end_matches('\r').strip_prefix("BPFLOCK-GUEST-BEGIN "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(String::from);
    let lines: Vec<&str> = console.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("guest {}: {seconds:.1} s, console in {}", guest.name, log.display());
    Boot { results, release, seconds, finished, log, tail }
}

/// `KERNEL[+ARG=VALUE...][:SUITE,...]`
fn parse_guest(spec: &str) -> Guest {
    let (name, suites) = match spec.split_once(':') {
        Some((name, suites)) => (name, Some(suites)),
        None => (spec, None),
    };
    let mut parts = name.split('+');
    let kernel = parts.next().unwrap_or_default().to_string();
    let suites_spec = match suites {
        None => "all".to_string(),
        Some(list) if list.split(',').all(|s| s.starts_with('-')) => {
            format!("all but {}", list.split(',').map(|s| &s[1..]).collect::<Vec<_>>().join(", "))
        }
        Some(list) => list.replace(',', ", "),
    };
    let suites = chosen_suites(suites);
    for suite in &suites {
        case_names(suite); // an unknown suite panics here, naming the known ones
    }
    Guest { name: name.to_string(), kernel, suites, suites_spec, append: parts.collect::<Vec<_>>().join(" ") }
}

fn guests() -> Vec<Guest> {
    let specs = env::var("BPFLOCK_GUESTS").unwrap_or_else(|_| DEFAULT_GUESTS.into());
    let mut guests: Vec<Guest> = specs.split_whitespace().map(parse_guest).collect();
    // The slowest first (arm64, then the most cases), so that the last two end close together.
    guests.sort_by_key(|g| (!g.arm64(), std::cmp::Reverse(g.cases().len())));
    guests
}

/// target/guest/matrix.md: what this run proved on which kernel (`make readme-matrix`
/// puts it in the README).
fn write_matrix(guest_dir: &Path, guests: &[Guest], boots: &[Boot]) {
    let mut rows: Vec<(String, String)> = Vec::new();
    for (guest, boot) in guests.iter().zip(boots) {
        let cases = guest.cases();
        let count = |f: fn(&Outcome) -> bool| cases.iter().filter(|c| boot.results.get(*c).is_some_and(f)).count();
        let passed = count(|o| matches!(o, Outcome::Pass));
        let skipped = count(|o| matches!(o, Outcome::Skip(_)));
        let failed = cases.len() - passed - skipped;
        let arch = if guest.arm64() { "arm64" } else { "x86_64" };
        let (name, boot_args) = guest.name.split_once('+').unwrap_or((&guest.name, ""));
        let name = name.strip_suffix("-arm64").unwrap_or(name); // the suite: arch has its column
        let release = boot.release.as_deref().unwrap_or("did not boot");
        let verdict = if failed == 0 && boot.finished { "pass" } else { "**FAIL**" };
        let row = format!(
            "| {name} | {arch} | {release} | {} | {} | {verdict}: {passed} passed, {failed} failed{} | {:.1} |",
            if boot_args.is_empty() { "—".to_string() } else { format!("`{}`", boot_args.replace('+', " ")) },
            guest.suites_spec,
            if skipped > 0 { format!(", {skipped} not applicable") } else { String::new() },
            boot.seconds / 60.0,
        );
        rows.push((format!("{arch}{name}{boot_args}"), row));
    }
    rows.sort();
    let mut text = String::from(
        "| Debian | arch | kernel | boot | suites | result | minutes (TCG) |\n|---|---|---|---|---|---|---|\n",
    );
    for (_, row) in rows {
        text.push_str(&row);
        text.push('\n');
    }
    let _ = fs::write(guest_dir.join("matrix.md"), text);
}

fn main() {
    let args = Arguments::from_args();
    // Adding a protection means its cases too: tests/guest/cases/<protection>.sh.
    for p in bpflock::protections::ALL {
        assert!(suites().iter().any(|(n, _)| n == p.name()), "no tests/guest/cases/{}.sh", p.name());
    }
    let guests = guests();
    let Some(guest_dir) = env::var_os("BPFLOCK_GUEST_DIR").map(PathBuf::from) else {
        eprintln!("BPFLOCK_GUEST_DIR is not set: guest cases ignored; run them with `make test-guest`");
        let trials = guests
            .iter()
            .flat_map(|g| {
                g.cases()
                    .into_iter()
                    .map(move |c| Trial::test(format!("{}::{c}", g.name), || Ok(())).with_ignored_flag(true))
            })
            .collect();
        libtest_mimic::run(&args, trials).exit();
    };
    // A pool of PARALLEL workers takes the guests in order.
    let next = Arc::new(Mutex::new(0usize));
    let boots: Vec<Mutex<Option<Boot>>> = guests.iter().map(|_| Mutex::new(None)).collect();
    thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some(guest) = guests.get(i) else { break };
                let boot = boot(&guest_dir, guest);
                *boots[i].lock().unwrap() = Some(boot);
            });
        }
    });
    let boots: Vec<Boot> = boots.into_iter().map(|b| b.into_inner().unwrap().expect("every guest booted")).collect();
    write_matrix(&guest_dir, &guests, &boots);
    let mut trials = Vec::new();
    for (guest, boot) in guests.iter().zip(boots) {
        let (finished, tail, log) = (boot.finished, boot.tail.clone(), boot.log.clone());
        trials.push(Trial::test(format!("{}::guest_ran_every_case", guest.name), move || {
            if finished {
                Ok(())
            } else {
                Err(Failed::from(format!(
                    "the guest never reached the end of its suites (see {}); last console lines:\n{tail}",
                    log.display()
                )))
            }
        }));
        for case in guest.cases() {
            let outcome = boot.results.get(&case).cloned();
            let log = boot.log.clone();
            let name = format!("{}::{case}", guest.name);
            let skipped = matches!(outcome, Some(Outcome::Skip(_)));
            if let Some(Outcome::Skip(why)) = &outcome {
                eprintln!("{}::{case} ignored: {why}", guest.name);
            }
            let trial = Trial::test(name, move || match outcome {
                Some(Outcome::Pass) => Ok(()),
                Some(Outcome::Fail(detail)) => Err(Failed::from(detail)),
                Some(Outcome::Skip(why)) => Err(Failed::from(why)),
                None => Err(Failed::from(format!("the guest never reported this case (see {})", log.display()))),
            });
            trials.push(trial.with_ignored_flag(skipped));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
