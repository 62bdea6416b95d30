//! The command line. `bpflock-gen` (the man page and shell completions, src/bin/gen.rs) is
//! generated from these very definitions. The flags that override the policy are each
//! protection's (`Protection::flags`).

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

pub use crate::policy::Overrides;
use crate::{
    overrides::{FlagKind, FlagValue},
    protections::ALL,
};

pub const DEFAULT_PIN_ROOT: &str = "/sys/fs/bpf/bpflock";

#[derive(Parser)]
#[command(
    name = "bpflock",
    version,
    about = "Lock down Linux with BPF LSM: load, pin, exit",
    long_about = "Lock down Linux with BPF LSM programs.\n\n\
        `bpflock bootstrap` reads a TOML policy, loads the protections it enables, pins them under \
        /sys/fs/bpf/bpflock/<protection>/ and exits: enforcement outlives the process. Deleting a \
        protection's pin directory (or `bpflock remove`), or rebooting, removes it.",
    after_help = "Exit status: 0 success, 1 failure while applying, 2 invalid policy or command line, \
        3 this kernel cannot enforce the policy, 4 not privileged (status: 5 nothing pinned)."
)]
pub struct Cli {
    /// More detail (-v: libbpf's messages too).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args)]
pub struct PinRootArg {
    /// Where the protections are pinned (on a BPF filesystem).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_PIN_ROOT)]
    pub pin_root: PathBuf,
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate the policy, probe the kernel, load, attach and pin the protections, exit.
    ///
    /// Run again to re-apply a changed policy: the new set is attached before the old is
    /// removed, so the host is never unprotected; on any failure the old pins stay as they were.
    Bootstrap {
        /// Policy file [default: /etc/bpflock/policy.toml, or the built-in default if it does not exist].
        #[arg(long, short, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        pin_root: PinRootArg,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Validate a policy (and overrides) without loading anything: every error, as
    /// FILE:LINE:COL.
    Check {
        /// Policy file, `-` for standard input [default: as bootstrap].
        #[arg(long, short, value_name = "FILE", conflicts_with = "file")]
        policy: Option<PathBuf>,
        /// The policy file (as --policy).
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        /// Machine-readable output (errors included, on standard output).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Show what is pinned: each protection's profile, lists and program ids.
    ///
    /// Exit status: 0 protections are pinned, 5 nothing is pinned, 4 the pin tree cannot be
    /// seen (not privileged).
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
    /// Remove protections by deleting their pin directories (no bpf() needed). Creates and
    /// mounts nothing: with nothing pinned, there is nothing to do.
    Remove {
        /// Protections to remove, by name (as `bpflock status` shows them).
        #[arg(
            required_unless_present = "all",
            conflicts_with = "all",
            value_parser = clap::builder::PossibleValuesParser::new(ALL.iter().map(|p| p.name()))
        )]
        protections: Vec<String>,
        /// Remove every protection and the pin root.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
    /// Forward bpflock's events from the pinned perf buffer to journald (stderr without
    /// one), until SIGTERM. Run it as a service; enforcement does not depend on it.
    Forward {
        #[command(flatten)]
        pin_root: PinRootArg,
    },
    /// Jail this process in a role of the pinned policy and run COMMAND in it (for scripts
    /// and tests). Needs the rights bootstrap needs; a jailed process cannot run it again.
    Run {
        /// The role, as named in the policy's [roles.NAME].
        #[arg(long, value_name = "NAME")]
        role: String,
        /// The command and its arguments (`--` before it is optional).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
        command: Vec<String>,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
    /// Judge one USB device by usblock's pinned rules and authorize it, only its allowed
    /// interfaces, or leave it unauthorized (udev runs it for each device added).
    ///
    /// Decides by the rules pinned under /sys/fs/bpf/bpflock/usblock (the system's: pid 1's),
    /// never the policy file. A root hub is locked instead (authorized_default = 0). With
    /// usblock not pinned, it changes nothing.
    UsbAuthorize {
        /// The device's path as udev gives it (%p): /devices/.../1-1, or an interface of it.
        #[arg(value_name = "DEVPATH")]
        devpath: String,
    },
    /// USB devices and usblock's rules.
    Usb {
        #[command(subcommand)]
        command: UsbCommand,
    },
    /// List the operations each protection's allow and block lists accept.
    Operations {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check that this kernel can enforce the policy: load and attach a minimal BPF LSM
    /// program, and look up the hooks and lockdown reasons the protections use.
    Probe {
        /// Policy whose protections to check [default: as bootstrap].
        #[arg(long, short, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
}

/// bpflock (C/Go)'s option names, as overrides of the policy file: every protection's flags.
impl Args for Overrides {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for flag in ALL.iter().flat_map(|p| p.flags()) {
            let arg = Arg::new(flag.name).long(flag.name).help(flag.help);
            cmd = cmd.arg(match flag.kind {
                FlagKind::Value(value_name) => arg.value_name(value_name).action(ArgAction::Set),
                FlagKind::List => arg.value_name("OP,...").value_delimiter(',').action(ArgAction::Append),
                FlagKind::Switch => arg.action(ArgAction::SetTrue),
            });
        }
        cmd.arg(
            Arg::new(crate::seal::FLAG)
                .long(crate::seal::FLAG)
                .help("Seal what bootstrap pins until reboot, for root and bpflock too ([bpflock] seal = true)")
                .action(ArgAction::SetTrue),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for Overrides {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut o = Self::default();
        o.update_from_arg_matches(m)?;
        Ok(o)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for flag in ALL.iter().flat_map(|p| p.flags()) {
            let value = match flag.kind {
                FlagKind::Value(_) => m.get_one::<String>(flag.name).cloned().map(FlagValue::Value),
                FlagKind::List => m.get_many::<String>(flag.name).map(|v| FlagValue::List(v.cloned().collect())),
                FlagKind::Switch => m.get_flag(flag.name).then_some(FlagValue::On),
            };
            if let Some(value) = value {
                self.set(flag.name, value);
            }
        }
        if m.try_get_one::<bool>(crate::seal::FLAG).ok().flatten().copied().unwrap_or(false) {
            self.set(crate::seal::FLAG, FlagValue::On);
        }
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum UsbCommand {
    /// Every USB device attached, the rule it matches (the pinned rules, or --policy's) and
    /// a rule that would allow it, to write a policy from what is plugged in.
    List {
        /// Judge by this policy file's [usblock] rules instead of the pinned ones.
        #[arg(long, short, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
}
