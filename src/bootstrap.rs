//! `bpflock bootstrap`: validate, probe, load, attach, pin, exit.

use std::path::Path;

use libbpf_rs::ErrorKind;

use crate::{
    error::{Error, NotSupported, Result},
    events::Shared,
    kernel::{self, KernelBtf},
    pins::{self, PinRoot},
    policy::Policy,
    protection::{Protection, Section, SetupContext},
    protections::ALL,
    seal,
};

/// Checks that this kernel runs BPF LSM programs at all. Whether it has the hooks of each
/// protection is checked as each is loaded (`skel::load`).
/// `pin_root` is consulted only to explain a refusal caused by bpflock's own pins.
pub fn check_kernel(pin_root: &Path) -> Result<KernelBtf> {
    let btf = KernelBtf::load()?;
    if let Err(problem) = kernel::probe_bpf_lsm() {
        if problem.refused {
            if let Some((by, pinned)) = pinned_bpf_restriction(pin_root) {
                return Err(Error::DeniedByPinned {
                    protection: "probe",
                    by,
                    pinned,
                    source: libbpf_rs::Error::from(std::io::Error::from_raw_os_error(libc::EPERM)),
                });
            }
        }
        return Err(problem.not_supported.into());
    }
    Ok(btf)
}

/// A pinned protection that forbids bpf() to bpflock, if any: its name and pin directory.
fn pinned_bpf_restriction(pin_root: &Path) -> Option<(&'static str, String)> {
    ALL.iter()
        .filter(|p| p.restricts_bpf())
        .map(|p| (p.name(), pin_root.join(p.name())))
        .find(|(_, dir)| dir.exists())
        .map(|(name, dir)| (name, dir.display().to_string()))
}

pub fn run(policy: &Policy, pin_root: &Path) -> Result<()> {
    kernel::require_bpf_privilege("bootstrap")?;
    if seal::is_sealed(pin_root) {
        return Err(seal::refused("bootstrap", pin_root));
    }
    if policy.seal {
        seal::check_where()?;
    }
    let enabled: Vec<(&'static dyn Protection, &dyn Section)> = policy.sections().filter(|(_, s)| s.wanted()).collect();
    let btf = match enabled.is_empty() {
        true => None,
        false => Some(check_kernel(pin_root)?),
    };
    let root = PinRoot::open_for_update(pin_root)?;
    let staging = root.staging()?;
    let shared = Shared::new(&root.path, policy.rate_limit)?;
    let shared_existed = shared.dir.exists();
    // A protection this kernel cannot enforce (a hook or helper it lacks) is refused alone:
    // the rest of the policy is applied, and its old pins, if any, stay as they were.
    let mut applied: Vec<(&'static dyn Protection, &dyn Section)> = Vec::new();
    let mut refused = Vec::new();
    let skipped = std::cell::RefCell::new(Vec::new());
    let staged = (|| {
        for &(p, section) in &enabled {
            let name = p.name();
            let dir = staging.protection_dir(name)?;
            let live = root.protection_dir(name);
            let ctx = SetupContext {
                dir: &dir,
                live: &live,
                shared: &shared,
                btf: btf.as_ref().expect("probed"),
                skipped: &skipped,
            };
            match p.setup(section, &ctx) {
                Ok(()) => applied.push((p, section)),
                Err(Error::NotSupported(why)) => {
                    pins::remove_tree(&dir)?;
                    refused.push((name, why));
                }
                Err(e) => return Err(explain_denial(e, name, &root)),
            }
            fault_injection::after_staging(name)?;
        }
        Ok(())
    })();
    if let Err(e) = staged {
        // Nothing new stays behind: the staging directory goes with `staging`, and event
        // maps this run created go too (ones that existed stay: live protections use them).
        if !shared_existed {
            let _ = pins::remove_tree(&shared.dir);
        }
        return Err(e);
    }
    // What stays in force of a refused protection: its pins from an earlier bootstrap.
    for (name, _) in refused.iter().filter(|(name, _)| root.protection_dir(name).exists()) {
        log::warn!(target: name, "not replaced: the {name} pinned earlier stays in force");
    }
    if applied.is_empty() && !refused.is_empty() {
        // Nothing of this policy can be applied: nothing is touched, as before a probe failure.
        if !shared_existed {
            let _ = pins::remove_tree(&shared.dir);
        }
        return Err(refused_error(refused).into());
    }
    let applied_names: Vec<&str> = applied.iter().map(|(p, _)| p.name()).collect();
    staging.commit(&applied_names)?;
    for p in ALL.iter().filter(|p| !enabled.iter().any(|(e, _)| e.name() == p.name())) {
        // Not wanted by this policy: drop an earlier one.
        root.remove(p.name())?;
    }
    for (p, section) in &applied {
        log::info!(target: p.name(), "{} pinned at {}", section.describe(), root.protection_dir(p.name()).display());
    }
    if applied.is_empty() && refused.is_empty() {
        log::info!(target: "bootstrap", "every protection has profile \"allow\": nothing to enforce");
    }
    let mut skipped = skipped.into_inner();
    for (p, section) in &applied {
        if let Err(e) = p.after_commit(*section, &root.protection_dir(p.name())) {
            skipped.push(e.to_string());
        }
    }
    for what in &skipped {
        log::error!(target: "bootstrap", "not applied: {what}");
    }
    if policy.seal {
        // Sealed only whole: a protection this kernel refused may be one the seal depends
        // on, and a seal that says the doors are closed must not stand over an open one.
        match refused.is_empty() {
            true => seal::apply(&root.path, &shared)?,
            false => {
                let names: Vec<&str> = refused.iter().map(|(name, _)| *name).collect();
                log::error!(target: "seal", "not sealed: {} could not be applied", names.join(", "))
            }
        }
    }
    match (refused.is_empty(), skipped.is_empty()) {
        (true, true) => return Ok(()),
        (true, false) => {
            return Err(Error::Incomplete { skipped: skipped.join("; "), applied: applied_names.join(", ") })
        }
        _ => {}
    }
    Err(Error::PartlyApplied { refused: refused_error(refused), applied: applied_names.join(", ") })
}

/// One error for the protections this kernel cannot enforce.
fn refused_error(refused: Vec<(&str, NotSupported)>) -> NotSupported {
    NotSupported {
        what: refused.iter().map(|(_, r)| r.what.as_str()).collect::<Vec<_>>().join(", "),
        why: refused.iter().map(|(_, r)| r.why.as_str()).collect::<Vec<_>>().join("; "),
    }
}

/// A load refused with EPERM while a protection that restricts bpf() is pinned: say so.
/// Any other error is returned as it is.
fn explain_denial(e: Error, protection: &'static str, root: &PinRoot) -> Error {
    let Some((by, pinned)) = pinned_bpf_restriction(&root.path) else { return e };
    match e {
        Error::UnableToLoad { source, .. } | Error::UnableToAttach { source, .. }
            if source.kind() == ErrorKind::PermissionDenied =>
        {
            Error::DeniedByPinned { protection, by, pinned, source }
        }
        e => e,
    }
}

/// `BPFLOCK_TEST_FAIL_AFTER=<protection>`: fail once that protection is staged, to prove
/// that a failed bootstrap leaves nothing behind. Only in builds for tests (feature
/// `fault-injection`); a release build ignores the variable.
mod fault_injection {
    use crate::error::Result;

    #[cfg(feature = "fault-injection")]
    pub fn after_staging(name: &str) -> Result<()> {
        match std::env::var("BPFLOCK_TEST_FAIL_AFTER") {
            Ok(v) if v == name => Err(crate::error::Error::InjectedFault(name.into())),
            _ => Ok(()),
        }
    }

    #[cfg(not(feature = "fault-injection"))]
    pub fn after_staging(_name: &str) -> Result<()> {
        Ok(())
    }
}
