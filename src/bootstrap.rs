//! `bpflock bootstrap`: validate, probe, load, attach, pin, exit.

use std::path::Path;

use libbpf_rs::ErrorKind;

use crate::{
    bpfrestrict,
    error::{Error, NotSupported, Result},
    events::Shared,
    filelesslock, jail,
    kernel::{self, KernelBtf},
    kimglock, kmodlock,
    pins::PinRoot,
    policy::{LockPolicy, OpSet, Policy},
};

/// The protections in the order they are set up; bpfrestrict last, so that the others
/// are loaded before bpf() is restricted.
pub const PROTECTIONS: &[&str] = &[kimglock::NAME, kmodlock::NAME, filelesslock::NAME, jail::NAME, bpfrestrict::NAME];

/// Whether the policy loads this protection.
pub fn wanted(policy: &Policy, name: &str) -> bool {
    match name {
        // allow still loads filelesslock (it reports); a policy without the section does not.
        filelesslock::NAME => policy.filelesslock.present,
        // Origin checks alone load it too, whatever the profile.
        kmodlock::NAME => policy.kmodlock.enabled() || policy.kmodlock_origin.any(),
        jail::NAME => policy.jail.enabled(),
        _ => policy.lock(name).is_some_and(LockPolicy::enabled),
    }
}

/// What this kernel lacks of the hooks of a protection's programs, if anything.
pub fn missing_hooks(name: &str) -> Result<Option<String>> {
    match name {
        kimglock::NAME => kimglock::missing_hooks(),
        kmodlock::NAME => kmodlock::missing_hooks(),
        filelesslock::NAME => filelesslock::missing_hooks(),
        jail::NAME => jail::missing_hooks(),
        bpfrestrict::NAME => bpfrestrict::missing_hooks(),
        _ => unreachable!("PROTECTIONS lists only known protections"),
    }
}

fn setup(name: &'static str, policy: &Policy, dir: &Path, live: &Path, shared: &Shared) -> Result<()> {
    if name == jail::NAME {
        return jail::setup(&policy.jail, policy.jail_events, dir, live, shared);
    }
    let lock = policy.lock(name).expect("PROTECTIONS lists only known protections");
    match name {
        kmodlock::NAME => kmodlock::setup(lock, &policy.kmodlock_origin, dir, shared),
        kimglock::NAME => kimglock::setup(lock, dir, shared),
        bpfrestrict::NAME => bpfrestrict::setup(lock, dir, shared),
        filelesslock::NAME => filelesslock::setup(lock, dir, shared),
        _ => unreachable!("PROTECTIONS lists only known protections"),
    }
}

/// Checks that this kernel runs BPF LSM programs at all. Whether it has the hooks of each
/// protection is checked as each is loaded (`pins::load`).
/// `pin_root` is consulted only to explain a refusal caused by bpflock's own bpfrestrict.
pub fn check_kernel(pin_root: &Path) -> Result<KernelBtf> {
    let btf = KernelBtf::load()?;
    if let Some(problem) = kernel::probe_bpf_lsm() {
        let pinned = pin_root.join(bpfrestrict::NAME);
        if pinned.exists() && problem.why.contains("refuses") {
            return Err(Error::DeniedByBpfrestrict {
                protection: "probe",
                pinned: pinned.display().to_string(),
                source: libbpf_rs::Error::from(std::io::Error::from_raw_os_error(libc::EPERM)),
            });
        }
        return Err(problem.into());
    }
    Ok(btf)
}

pub fn run(policy: &Policy, pin_root: &Path) -> Result<()> {
    let enabled: Vec<&'static str> = PROTECTIONS.iter().copied().filter(|n| wanted(policy, n)).collect();
    if !enabled.is_empty() {
        let btf = check_kernel(pin_root)?;
        if policy.kimglock.enabled() {
            // Only what the policy names is worth a warning; the rest is never asked either way.
            let named = OpSet(policy.kimglock.allow.0 | policy.kimglock.block.0).names(kimglock::OPERATIONS);
            let (warn, quiet): (Vec<_>, Vec<_>) =
                kimglock::unavailable(&btf).into_iter().partition(|n| named.contains(n));
            if !warn.is_empty() {
                log::warn!(
                    target: kimglock::NAME,
                    "this kernel has no lockdown reason for: {} (never asked here, so these rules have no effect)",
                    warn.join(", ")
                );
            }
            if !quiet.is_empty() {
                log::debug!(target: kimglock::NAME, "this kernel has no lockdown reason for: {}", quiet.join(", "));
            }
        }
    }
    let root = PinRoot::open_for_update(pin_root)?;
    let staging = root.staging()?;
    let shared = Shared::new(&root.path, policy.rate_limit)?;
    let shared_existed = shared.dir.exists();
    // A protection this kernel cannot enforce (a hook or helper it lacks) is refused alone:
    // the rest of the policy is applied, and its old pins, if any, stay as they were.
    let mut applied = Vec::new();
    let mut refused = Vec::new();
    let staged = (|| {
        for name in &enabled {
            let dir = staging.protection_dir(name)?;
            match setup(name, policy, &dir, &root.protection_dir(name), &shared) {
                Ok(()) => applied.push(*name),
                Err(Error::NotSupported(why)) => {
                    crate::pins::remove_tree(&dir)?;
                    refused.push((*name, why));
                }
                Err(e) => return Err(explain_denial(e, name, &root)),
            }
            if std::env::var("BPFLOCK_TEST_FAIL_AFTER").is_ok_and(|v| v == *name) {
                return Err(Error::InjectedFault((*name).into()));
            }
        }
        Ok(())
    })();
    if let Err(e) = staged {
        // Nothing new stays behind: the staging directory goes with `staging`, and event
        // maps this run created go too (ones that existed stay: live protections use them).
        if !shared_existed {
            let _ = crate::pins::remove_tree(&shared.dir);
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
            let _ = crate::pins::remove_tree(&shared.dir);
        }
        return Err(refused_error(refused).into());
    }
    staging.commit(&applied)?;
    for name in PROTECTIONS.iter().filter(|n| !enabled.contains(n)) {
        // Not wanted by this policy: drop an earlier one.
        root.remove(name)?;
    }
    let enabled = applied;
    for name in &enabled {
        let what = match policy.lock(name) {
            Some(lock) => describe(name, lock),
            None => jail::describe(&policy.jail),
        };
        log::info!(target: name, "{what} pinned at {}", root.protection_dir(name).display());
    }
    if enabled.is_empty() && refused.is_empty() {
        log::info!(target: "bootstrap", "every protection has profile \"allow\": nothing to enforce");
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::PartlyApplied { refused: refused_error(refused), applied: enabled.join(", ") })
}

/// One error for the protections this kernel cannot enforce.
fn refused_error(refused: Vec<(&str, NotSupported)>) -> NotSupported {
    NotSupported {
        what: refused.iter().map(|(_, r)| r.what.as_str()).collect::<Vec<_>>().join(", "),
        why: refused.iter().map(|(_, r)| r.why.as_str()).collect::<Vec<_>>().join("; "),
    }
}

/// A load refused with EPERM while bpflock's own bpfrestrict is pinned: say so.
fn explain_denial(e: Error, protection: &'static str, root: &PinRoot) -> Error {
    let pinned = root.protection_dir(bpfrestrict::NAME);
    match e {
        Error::UnableToLoad { source, .. } | Error::UnableToAttach { source, .. }
            if source.kind() == ErrorKind::PermissionDenied && pinned.exists() =>
        {
            Error::DeniedByBpfrestrict { protection, pinned: pinned.display().to_string(), source }
        }
        e => e,
    }
}

/// "baseline (allow: debugfs; block: kcore)"
pub fn describe(name: &str, lock: &LockPolicy) -> String {
    let table = match name {
        kimglock::NAME => kimglock::OPERATIONS,
        bpfrestrict::NAME => bpfrestrict::OPERATIONS,
        kmodlock::NAME => kmodlock::OPERATIONS,
        _ => &[],
    };
    let mut parts = Vec::new();
    for (key, set) in [("allow", lock.allow), ("block", lock.block)] {
        if set.0 != 0 {
            parts.push(format!("{key}: {}", set.names(table).join(", ")));
        }
    }
    if parts.is_empty() {
        lock.profile.to_string()
    } else {
        format!("{} ({})", lock.profile, parts.join("; "))
    }
}
