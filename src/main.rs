//! bpflock: daemonless boot-time BPF-LSM hardening. Loads, pins and exits.
//! The commands; everything else is in the library (src/lib.rs).

use std::{io::Write, path::Path, process::ExitCode};

use bpflock::{
    bootstrap,
    cli::{Cli, Command},
    error::{self, Error, Result},
    forward, kernel, pins,
    policy::{Overrides, Policy},
    protections, status,
};
use clap::Parser;

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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Bootstrap { policy, pin_root, overrides } => {
            let policy = load_policy(policy.as_deref(), &overrides)?;
            log::info!(target: "bootstrap", "policy: {}", policy.origin);
            bootstrap::run(&policy, &pin_root.pin_root)
        }
        Command::Check { file, overrides } => {
            let policy = load_policy(Some(&file), &overrides)?;
            for (p, section) in policy.sections() {
                let loaded = if section.wanted() { "" } else { " (not loaded)" };
                println!("{}: {}{loaded}", p.name(), section.describe());
            }
            println!("{}: valid", policy.origin);
            Ok(())
        }
        Command::Status { json, pin_root } => {
            let st = status::collect(&pin_root.pin_root);
            if json {
                println!("{}", serde_json::to_string_pretty(&st).expect("status serializes"));
            } else {
                status::print_human(&st);
            }
            Ok(())
        }
        Command::Remove { protections, all, pin_root } => {
            let root = pin_root.pin_root;
            if all && !root.exists() {
                log::info!(target: "remove", "nothing pinned under {}", root.display());
                return Ok(());
            }
            for name in &protections {
                if protections::by_name(name).is_none() {
                    return Err(Error::UnknownProtection { name: name.clone(), known: protections::names() });
                }
            }
            let pin_root = pins::PinRoot::open_for_update(&root)?;
            if all {
                // In reverse setup order: what restricts bpf() goes first, so that the detach
                // wait of the others can see their programs.
                for p in protections::ALL.iter().rev() {
                    pin_root.remove(p.name())?;
                }
                pins::remove_tree(&root)?;
                log::info!(target: "remove", "removed {}", root.display());
                return Ok(());
            }
            for name in &protections {
                if !pin_root.remove(name)? {
                    log::info!(target: "remove", "{name} is not pinned");
                }
            }
            Ok(())
        }
        Command::Forward { pin_root } => forward::run(&pin_root.pin_root),
        Command::Run { role, command, pin_root } => match protections::run(&pin_root.pin_root, &role, &command)? {},
        Command::Operations => {
            for p in protections::ALL {
                println!("{}:", p.name());
                for op in p.operations() {
                    println!("  {:<26} {}", op.name, op.about);
                }
                if let Some(about) = p.about_operations() {
                    println!("  ({about})");
                }
            }
            Ok(())
        }
        Command::Probe { policy, pin_root } => {
            let policy = load_policy(policy.as_deref(), &Overrides::default())?;
            let lsms = kernel::active_lsms();
            println!("active LSMs: {}", lsms.as_deref().unwrap_or("unknown (securityfs unreadable)"));
            let btf = bootstrap::check_kernel(&pin_root.pin_root)?;
            println!("BPF LSM: programs load and attach");
            let mut lacking = Vec::new();
            let mut notes = Vec::new();
            for (p, section) in policy.sections() {
                let name = p.name();
                let enabled = section.wanted();
                let note = if enabled { "" } else { " (not enabled by the policy)" };
                match p.missing_hooks()? {
                    None => println!("{name}: hooks present{note}"),
                    Some(why) => {
                        println!("{name}: cannot be enforced: {why}{note}");
                        if enabled {
                            lacking.push(error::NotSupported { what: name.into(), why });
                        }
                    }
                }
                let (lines, refused) = p.probe(section, &btf);
                notes.extend(lines);
                lacking.extend(refused);
            }
            for line in notes {
                println!("{line}");
            }
            // The policy asks for what this kernel cannot enforce: as bootstrap would, exit 3.
            match lacking.is_empty() {
                true => Ok(()),
                false => Err(lacking.remove(0).into()),
            }
        }
    }
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
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                // FILE:LINE:COL first, as compilers print it, for editors and CI annotations.
                Error::Policy(p) => {
                    eprintln!("{}:{}:{}: error: {}", p.origin, p.line, p.col, p.message);
                    log::error!(target: "bpflock", "invalid policy: nothing was loaded")
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
