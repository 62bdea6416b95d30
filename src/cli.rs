//! The command line, kept free of the rest of the crate so that `bpflock-gen` (the man
//! page and shell completions, src/bin/gen.rs) is generated from the very same definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
        3 this kernel cannot enforce the policy."
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
    /// Validate a policy file (and overrides) without loading anything.
    Check {
        /// The policy file.
        file: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Show what is pinned: each protection's profile, lists and program ids.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
    /// Remove protections by deleting their pin directories (no bpf() needed).
    Remove {
        /// Protections to remove: kimglock, bpfrestrict.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
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
        /// The command and its arguments.
        #[arg(required = true, last = true, value_name = "COMMAND")]
        command: Vec<String>,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
    /// List the operations each protection's allow and block lists accept.
    Operations,
    /// Check that this kernel can enforce the policy: load and attach a minimal BPF LSM
    /// program, and look up the hooks and lockdown reasons the protections use.
    Probe {
        /// Policy whose protections to check [default: as bootstrap].
        #[arg(long, short, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        pin_root: PinRootArg,
    },
}

/// bpflock (C/Go)'s option names, as overrides of the policy file.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Overrides {
    /// kimglock profile: allow (= none = privileged), baseline or restricted.
    #[arg(long, value_name = "PROFILE")]
    pub kimglock_profile: Option<String>,
    /// baseline only: lockdown operations still allowed outside the initial pid namespace (comma-separated).
    #[arg(long, value_name = "OP,...", value_delimiter = ',')]
    pub kimglock_allow: Option<Vec<String>>,
    /// baseline only: lockdown operations denied to every process (comma-separated).
    #[arg(long, value_name = "OP,...", value_delimiter = ',')]
    pub kimglock_block: Option<Vec<String>>,
    /// bpfrestrict profile: allow (= none = privileged), baseline or restricted.
    #[arg(long, value_name = "PROFILE")]
    pub bpfrestrict_profile: Option<String>,
    /// baseline only: bpf operations denied to every process: bpf_write, btf_load, map_create, prog_load.
    #[arg(long, value_name = "OP,...", value_delimiter = ',')]
    pub bpfrestrict_block: Option<Vec<String>>,
    /// kmodlock profile: allow (= none = privileged), baseline or restricted.
    #[arg(long, value_name = "PROFILE")]
    pub kmodlock_profile: Option<String>,
    /// baseline only: module operations denied to every process: load_module, autoload_module, unsigned_module, unsafe_module_parameters.
    #[arg(long, value_name = "OP,...", value_delimiter = ',')]
    pub kmodlock_block: Option<Vec<String>>,
    /// Modules and firmware only from the root filesystem.
    #[arg(long)]
    pub kmodlock_rootfs: bool,
    /// Modules and firmware only from a filesystem mounted read-only.
    #[arg(long)]
    pub kmodlock_ro: bool,
    /// Modules and firmware only from a filesystem on a read-only block device.
    #[arg(long)]
    pub kmodlock_ro_dev: bool,
    /// filelesslock profile: allow (report only), baseline or restricted.
    #[arg(long, value_name = "PROFILE")]
    pub filelesslock_profile: Option<String>,
}
