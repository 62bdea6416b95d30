//! bpflock: daemonless boot-time BPF-LSM hardening. Loads, pins and exits.
//! The commands; everything else is in the library (src/lib.rs).

use std::{io::Write, path::Path, process::ExitCode};

use bpflock::{
    bootstrap,
    cli::{Cli, Command, UsbCommand},
    error::{self, Error, Result},
    forward, kernel, pins,
    policy::{Overrides, Policy, DEFAULT_POLICY_PATH},
    protections, seal, status,
};
use clap::Parser;
use serde_json::json;

/// Log lines go to stderr as "bpflock: <subsystem>: message", or to the journal with
/// structured fields when stderr is connected to it.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let level = match r.level() {
            log::Level::Error => "error: ",
            log::Level::Warn => "warning: ",
            _ => "",
        };
        let target = r.target();
        let subsystem = if target.starts_with("bpflock") { String::new() } else { format!("{target}: ") };
        let _ = writeln!(std::io::stderr(), "bpflock: {subsystem}{level}{}", r.args());
    }
    fn flush(&self) {}
}

/// `usb-authorize`'s log: the journal where there is one, else the kernel's log (which
/// outlives an initramfs without systemd); and stderr, which udevd keeps at debug level.
struct SystemLogger {
    journal: Option<systemd_journal_logger::JournalLog>,
}

impl log::Log for SystemLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let (priority, level) = match r.level() {
            log::Level::Error => (3, "error: "),
            log::Level::Warn => (4, "warning: "),
            log::Level::Info => (6, ""),
            _ => (7, ""),
        };
        let target = r.target();
        let subsystem = if target.starts_with("bpflock") { String::new() } else { format!("{target}: ") };
        let line = format!("bpflock: {subsystem}{level}{}", r.args());
        match &self.journal {
            Some(journal) => journal.log(r),
            None => {
                if let Ok(mut kmsg) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
                    let _ = write!(kmsg, "<{priority}>{line}");
                }
            }
        }
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    fn flush(&self) {}
}

fn init_system_logging(verbose: u8) {
    let journal = Path::new("/run/systemd/journal/socket")
        .exists()
        .then(|| systemd_journal_logger::JournalLog::new().ok())
        .flatten()
        .map(|j| j.with_syslog_identifier("bpflock".into()));
    let logger: &'static SystemLogger = Box::leak(Box::new(SystemLogger { journal }));
    if log::set_logger(logger).is_err() {
        return init_logging(verbose);
    }
    log::set_max_level(if verbose > 0 { log::LevelFilter::Debug } else { log::LevelFilter::Info });
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => log::LevelFilter::Info,
        1 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let journal = systemd_journal_logger::connected_to_journal()
        .then(|| systemd_journal_logger::JournalLog::new().ok())
        .flatten();
    match journal {
        Some(j) => {
            let _ = j.with_syslog_identifier("bpflock".into()).install();
        }
        None => {
            let _ = log::set_logger(&StderrLogger);
        }
    }
    log::set_max_level(level);
    // libbpf's own messages (verifier logs, relocation details) at debug level.
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, |level, msg| {
        let msg = msg.trim_end();
        match level {
            libbpf_rs::PrintLevel::Warn => log::debug!(target: "libbpf", "{msg}"),
            _ => log::trace!(target: "libbpf", "{msg}"),
        }
    })));
}

fn load_policy(path: Option<&Path>, overrides: &Overrides) -> Result<Policy> {
    let mut policy = Policy::load(path)?;
    policy.apply(overrides)?;
    Ok(policy)
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn print_json(value: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&value).expect("JSON serializes"));
}

/// `check --json`: what the policy asks of each protection, or every error with its place.
fn check_json(origin: &Path, result: &Result<Policy>) {
    let report = match result {
        Ok(policy) => json!({
            "version": VERSION,
            "policy": policy.origin,
            "valid": true,
            "protections": policy.sections().map(|(p, s)| json!({
                "name": p.name(), "enabled": s.wanted(), "policy": s.describe(),
            })).collect::<Vec<_>>(),
        }),
        Err(e) => {
            let errors: Vec<_> = match e {
                Error::Policy(errors) => errors
                    .0
                    .iter()
                    .map(|p| json!({ "file": p.origin, "line": p.line, "col": p.col, "message": p.message }))
                    .collect(),
                e => vec![json!({ "message": e.to_string() })],
            };
            json!({ "version": VERSION, "policy": origin.display().to_string(), "valid": false, "errors": errors })
        }
    };
    print_json(report);
}

fn probe(policy: Option<&Path>, json: bool, pin_root: &Path) -> Result<()> {
    kernel::require_bpf_privilege("probe")?;
    let policy = load_policy(policy, &Overrides::default())?;
    let lsms = kernel::active_lsms();
    let kernel = bootstrap::check_kernel(pin_root);
    let mut lacking = Vec::new();
    let mut notes = Vec::new();
    let mut protections_report = Vec::new();
    if let Ok(btf) = &kernel {
        for (p, section) in policy.sections() {
            let enabled = section.wanted();
            let missing = p.missing_hooks()?;
            if let (Some(why), true) = (&missing, enabled) {
                lacking.push(error::NotSupported { what: p.name().into(), why: why.clone() });
            }
            let (lines, refused) = p.probe(section, btf);
            protections_report.push((p.name(), enabled, missing, lines.clone()));
            notes.extend(lines);
            lacking.extend(refused);
        }
    }
    if json {
        print_json(json!({
            "version": VERSION,
            "active_lsms": lsms,
            "bpf_lsm": match &kernel { Ok(_) => "programs load and attach".to_string(), Err(e) => e.to_string() },
            "protections": protections_report.iter().map(|(name, enabled, missing, lines)| json!({
                "name": name, "enabled": enabled, "missing_hooks": missing, "notes": lines,
            })).collect::<Vec<_>>(),
        }));
    } else {
        println!("active LSMs: {}", lsms.as_deref().unwrap_or("unknown (securityfs unreadable)"));
        if kernel.is_ok() {
            println!("BPF LSM: programs load and attach");
        }
        for (name, enabled, missing, _) in &protections_report {
            let note = if *enabled { "" } else { " (not enabled by the policy)" };
            match missing {
                None => println!("{name}: hooks present{note}"),
                Some(why) => println!("{name}: cannot be enforced: {why}{note}"),
            }
        }
        for line in notes {
            println!("{line}");
        }
    }
    kernel?;
    // The policy asks for what this kernel cannot enforce: as bootstrap would, exit 3.
    match lacking.is_empty() {
        true => Ok(()),
        false => Err(lacking.remove(0).into()),
    }
}

fn remove(names: &[String], all: bool, root: &Path) -> Result<()> {
    let Some(pin_root) = pins::PinRoot::open_existing(root)? else {
        log::info!(target: "remove", "nothing pinned under {}", root.display());
        return Ok(());
    };
    if seal::is_sealed(root) {
        return Err(seal::refused("remove", root));
    }
    if all {
        // In reverse setup order: what restricts bpf() goes first, so that the detach
        // wait of the others can see their programs.
        for p in protections::ALL.iter().rev() {
            pin_root.remove(p.name())?;
        }
        pins::remove_tree(root)?;
        log::info!(target: "remove", "removed {}", root.display());
        return Ok(());
    }
    for name in names {
        if !pin_root.remove(name)? {
            log::info!(target: "remove", "{name} is not pinned");
        }
    }
    Ok(())
}

/// Ok(true): done; Ok(false): `status` found nothing pinned (its own exit status).
fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Bootstrap { policy, pin_root, overrides } => {
            // Before the policy: as a user, /etc/bpflock/policy.toml (mode 600) is unreadable
            // too, and "run as root" is the answer to both.
            kernel::require_bpf_privilege("bootstrap")?;
            let policy = load_policy(policy.as_deref(), &overrides)?;
            log::info!(target: "bootstrap", "policy: {}", policy.origin);
            bootstrap::run(&policy, &pin_root.pin_root)?;
        }
        Command::Check { policy, file, json, overrides } => {
            let path = policy.or(file);
            let result = load_policy(path.as_deref(), &overrides);
            if json {
                check_json(path.as_deref().unwrap_or(Path::new(DEFAULT_POLICY_PATH)), &result);
                return result.map(|_| true);
            }
            let policy = result?;
            for (p, section) in policy.sections() {
                let loaded = if section.wanted() { "" } else { " (not loaded)" };
                println!("{}: {}{loaded}", p.name(), section.describe());
            }
            println!("{}: valid", policy.origin);
        }
        Command::Status { json, pin_root } => {
            let st = status::collect(&pin_root.pin_root)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st).expect("status serializes"));
            } else {
                status::print_human(&st);
            }
            return Ok(!st.protections.is_empty());
        }
        Command::Remove { protections, all, pin_root } => remove(&protections, all, &pin_root.pin_root)?,
        Command::Forward { pin_root } => forward::run(&pin_root.pin_root)?,
        Command::Run { role, command, pin_root } => match protections::run(&pin_root.pin_root, &role, &command)? {},
        Command::Operations { json } if json => print_json(json!({
            "version": VERSION,
            "protections": protections::ALL.iter().map(|p| json!({
                "name": p.name(),
                "operations": p.operations().iter().map(|op| json!({ "name": op.name, "about": op.about }))
                    .collect::<Vec<_>>(),
                "note": p.about_operations(),
            })).collect::<Vec<_>>(),
        })),
        Command::Operations { .. } => {
            for p in protections::ALL {
                println!("{}:", p.name());
                for op in p.operations() {
                    println!("  {:<26} {}", op.name, op.about);
                }
                if let Some(about) = p.about_operations() {
                    println!("  ({about})");
                }
            }
        }
        Command::Probe { policy, json, pin_root } => probe(policy.as_deref(), json, &pin_root.pin_root)?,
        Command::UsbAuthorize { devpath } => protections::usb_authorize(&devpath)?,
        Command::Usb { command: UsbCommand::List { policy, json, pin_root } } => {
            protections::usb_list(&pin_root.pin_root, policy.as_deref(), json)?
        }
    }
    Ok(true)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Rust ignores SIGPIPE, so that println! to a closed pipe (`bpflock status | grep -q`)
    // panics, which is an abort here. A command that prints ends quietly instead, as any
    // other; the forwarder keeps the error (it accounts for what it could not write).
    if !matches!(cli.command, Command::Forward { .. }) {
        // SAFETY: restoring the default disposition of a signal, before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    match cli.command {
        Command::UsbAuthorize { .. } => init_system_logging(cli.verbose),
        _ => init_logging(cli.verbose),
    }
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(error::EXIT_NOTHING_PINNED as u8),
        Err(e) => {
            match &e {
                // FILE:LINE:COL first, as compilers print it, for editors and CI annotations.
                Error::Policy(errors) => {
                    for p in &errors.0 {
                        eprintln!("{}:{}:{}: error: {}", p.origin, p.line, p.col, p.message);
                    }
                    let count = match errors.0.len() {
                        1 => String::new(),
                        n => format!(" ({n} errors)"),
                    };
                    log::error!(target: "bpflock", "invalid policy{count}: nothing was loaded")
                }
                Error::Override { .. } => {
                    log::error!(target: "bpflock", "{e}");
                    log::error!(target: "bpflock", "invalid command line: nothing was loaded")
                }
                Error::NotSupported(_) => log::error!(target: "bpflock", "{e}; nothing was pinned"),
                _ => log::error!(target: "bpflock", "{e}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
