//! bpflock's one error type. Each variant says what failed and on what, so the message
//! alone tells an operator what to fix; `exit_code` maps it to the documented exit status.

use std::{fmt, io, path::PathBuf};

/// Exit statuses (bpflock(8), README): 0 success, 1 failure while applying, 2 invalid
/// policy or command line, 3 the kernel cannot enforce the policy, 4 not privileged;
/// `status` also 5: nothing pinned (as aa-status tells its states apart).
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_INVALID: i32 = 2;
pub const EXIT_NOT_SUPPORTED: i32 = 3;
pub const EXIT_NOT_PRIVILEGED: i32 = 4;
pub const EXIT_NOTHING_PINNED: i32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Policy(#[from] PolicyErrors),

    #[error("{flag}: {message}")]
    Override { flag: String, message: String },

    #[error("cannot read policy {path}: {source}")]
    ReadPolicy { path: PathBuf, source: io::Error },

    /// Not a policy file at all: a directory, a device, a FIFO, or larger than any policy.
    #[error("{path}: {why}")]
    NotAPolicyFile { path: PathBuf, why: String },

    #[error("{0}")]
    NotSupported(#[from] NotSupported),

    /// Told apart from a kernel that refuses: the capabilities are checked before the probe.
    #[error("{what}: {why} (run as root)")]
    NotPrivileged { what: String, why: String },

    /// Some protections of the policy are enforced, the ones this kernel cannot enforce are not.
    #[error("{refused}; the rest of the policy is pinned: {applied}")]
    PartlyApplied { refused: NotSupported, applied: String },

    /// Everything is pinned but parts of the policy this host could not apply (an enrolled
    /// executable that is gone): a failure the unit shows, not a host left unprotected.
    #[error("applied without: {skipped}; the rest of the policy is pinned: {applied}")]
    Incomplete { skipped: String, applied: String },

    #[error("{protection}: cannot load its BPF programs: {source}")]
    UnableToLoad { protection: &'static str, source: libbpf_rs::Error },

    #[error("{protection}: cannot attach {program}: {source}")]
    UnableToAttach { protection: &'static str, program: String, source: libbpf_rs::Error },

    #[error("cannot pin link {path}: {source}")]
    UnableToPinLink { path: PathBuf, source: libbpf_rs::Error },

    #[error("{protection}: cannot freeze its state map: {source}")]
    UnableToFreeze { protection: &'static str, source: std::io::Error },

    #[error(
        "cannot reuse the pinned map {path} ({source}); it was made by another bpflock version: \
         `bpflock remove --all` (or a reboot) clears it"
    )]
    UnableToReuseMap { path: PathBuf, source: libbpf_rs::Error },

    #[error("cannot pin map {path}: {source}")]
    UnableToPinMap { path: PathBuf, source: libbpf_rs::Error },

    #[error(
        "{path} is not on a BPF filesystem (bpffs): pins there would not outlive bpflock; \
         mount one with `mount -t bpf bpf {path}` or pick another --pin-root"
    )]
    NotBpffs { path: PathBuf },

    #[error("the BPF filesystem holding {path} is read-only: cannot pin there ({source})")]
    ReadOnlyBpffs { path: PathBuf, source: io::Error },

    #[error("another bpflock is changing {path}; try again when it has finished")]
    Busy { path: PathBuf },

    /// A protection pinned earlier forbids bpf() to bpflock itself.
    #[error(
        "{protection}: the kernel denied bpf() to bpflock itself ({source}); a pinned {by} \
         ({pinned}) forbids loading programs. Remove it first (`bpflock remove {by}`) or reboot"
    )]
    DeniedByPinned { protection: &'static str, by: &'static str, pinned: String, source: libbpf_rs::Error },

    #[error(
        "{command}: the pins are sealed until reboot ({path}); nothing pinned can be changed or \
         removed before then. To change the policy, reboot with the new one (docs/seal.md)"
    )]
    Sealed { command: String, path: PathBuf },

    #[error(
        "bootstrap: a sealed policy is applied by bpflock.service in the real root, not from the \
         initramfs: the initramfs's pins would keep the unit from re-applying and sealing them \
         (its bpfrestrict refuses bpflock's own loads); nothing was pinned (docs/seal.md)"
    )]
    SealFromInitramfs,

    #[error(
        "bootstrap: a sealed policy is applied by a bpflock executable on the root filesystem \
         (this one is {exe}, on another filesystem or a btrfs subvolume): the seal trusts the \
         executable by its device and inode, which another filesystem unmounted and mounted \
         again could give to another file; nothing was pinned (docs/seal.md)"
    )]
    SealExecutableOffRoot { exe: PathBuf },

    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: io::Error },

    /// A protection refuses what it was asked (its own words).
    #[error("{protection}: {message}")]
    Protection { protection: &'static str, message: String },

    #[cfg(feature = "fault-injection")]
    #[error("fault injected after staging {0} (BPFLOCK_TEST_FAIL_AFTER)")]
    InjectedFault(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Policy(_) | Self::Override { .. } | Self::ReadPolicy { .. } | Self::NotAPolicyFile { .. } => {
                EXIT_INVALID
            }
            Self::NotSupported(_) | Self::PartlyApplied { .. } => EXIT_NOT_SUPPORTED,
            Self::NotPrivileged { .. } => EXIT_NOT_PRIVILEGED,
            _ => EXIT_FAILURE,
        }
    }

    /// A file the policy names is not there (ENOENT, or a path component is not a
    /// directory): what a protection may skip alone, the rest of the policy applied.
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Io { source, .. } if gone(source))
    }

    pub fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { what, path, source }
    }
}

/// A file is not there: ENOENT, or a path component is not a directory.
pub fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// The running kernel cannot enforce what was asked (cilium/ebpf's ErrNotSupported).
#[derive(Debug, thiserror::Error)]
#[error("not supported by this kernel: {what}: {why}")]
pub struct NotSupported {
    pub what: String,
    pub why: String,
}

/// A policy error located in its source: printed as `FILE:LINE:COL: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub origin: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.origin, self.line, self.col, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Every error of one policy, in the order they are written (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl PolicyErrors {
    pub fn first(&self) -> &PolicyError {
        &self.0[0]
    }
}

impl From<PolicyError> for PolicyErrors {
    fn from(e: PolicyError) -> Self {
        Self(vec![e])
    }
}

impl From<PolicyError> for Error {
    fn from(e: PolicyError) -> Self {
        Self::Policy(e.into())
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
