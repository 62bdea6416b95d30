//! nslock: who may create user namespaces (bpf/nslock.bpf.c). Laid out as kimglock.rs; no
//! lists (one operation), but `unprivileged` and the executables it `exempt`s.

use std::{mem::MaybeUninit, path::Path};

use libbpf_rs::{
    skel::{OpenSkel as _, Skel as _},
    MapCore as _, MapFlags,
};
use serde::Deserialize;
use toml::Spanned;

use crate::{
    abi,
    error::{Error, NotSupported, PolicyError, Result},
    events,
    kernel::KernelBtf,
    lock::{self, LockKeys},
    lock_flag,
    overrides::{override_lock, Flag, FlagKind, Overrides},
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    section_any, skel as skeleton,
    vocabulary::{parse_switch, Defaults, Document, EventsMode, LockPolicy},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/nslock.skel.rs"));
}
use skel::{types, NslockSkelBuilder};

const NAME: &str = "nslock";

pub struct Nslock;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNslock {
    profile: Spanned<String>,
    unprivileged: Option<Spanned<String>>,
    #[serde(default)]
    exempt: Vec<Spanned<String>>,
    events: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

/// An executable `unprivileged = "deny"` leaves alone, and where the policy names it.
#[derive(Debug)]
struct Exempt {
    path: String,
    at: String,
}

#[derive(Debug)]
struct NslockPolicy {
    lock: LockPolicy,
    /// unprivileged = "deny": no user namespace for a task without CAP_SYS_ADMIN in the
    /// initial user namespace.
    unprivileged_deny: bool,
    exempt: Vec<Exempt>,
}

impl Section for NslockPolicy {
    fn wanted(&self) -> bool {
        self.lock.enabled() || self.unprivileged_deny
    }
    fn describe(&self) -> String {
        let mut line = self.lock.describe(&[]);
        if self.unprivileged_deny {
            line.push_str("; unprivileged user namespaces denied");
            if !self.exempt.is_empty() {
                let paths: Vec<&str> = self.exempt.iter().map(|e| e.path.as_str()).collect();
                line.push_str(&format!(" (exempt: {})", paths.join(", ")));
            }
        }
        line
    }
    fn events(&self) -> EventsMode {
        self.lock.events
    }
    section_any!();
}

/// `unprivileged`: "deny", or "allow" (the default).
fn parse_unprivileged(value: &str) -> Result<bool, String> {
    parse_switch(value, "deny", "allow", "value").map_err(|e| format!("unprivileged: {e}"))
}

const FLAGS: &[Flag] = &[
    lock_flag!(profile, "nslock", "nslock profile: allow, baseline or restricted"),
    lock_flag!(mode, "nslock"),
    Flag {
        name: "nslock-unprivileged",
        kind: FlagKind::Value("allow|deny"),
        help: "deny: no user namespace for a process without CAP_SYS_ADMIN (exempt executables aside)",
    },
];

/// What no kernel of today lets an LSM see: said by probe and status, never pretended.
const NOT_SEEN: &str = "joining or creating namespaces other than user namespaces (setns, unshare and clone of \
                        mount, pid, net, ipc, uts, cgroup and time namespaces) has no LSM hook in this kernel: \
                        nslock does not see it";

/// Hooks of the running kernel that could see namespace changes beyond userns_create.
fn namespace_hooks(btf: &KernelBtf) -> Vec<String> {
    let mut hooks: Vec<String> = btf
        .lsm_hooks()
        .into_iter()
        .filter(|h| {
            h != "userns_create" && (h.contains("namespace") || h.contains("setns") || h.ends_with("ns_install"))
        })
        .collect();
    hooks.sort();
    hooks
}

impl Protection for Nslock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        match abi::name_of(abi::NSLOCK_OP, op) {
            Some(name) => name.into(),
            None => op.to_string().into(),
        }
    }

    fn about_operations(&self) -> Option<String> {
        let names: Vec<&str> = abi::NSLOCK_OP.iter().map(|(n, _)| *n).collect();
        Some(format!("no lists: a profile, `unprivileged` and `exempt`; its events report: {}", names.join(", ")))
    }

    fn flags(&self) -> &'static [Flag] {
        FLAGS
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        let Some(raw) = doc.section::<RawNslock>(NAME)? else {
            return Ok(Box::new(NslockPolicy {
                lock: LockPolicy { events: defaults.events, ..LockPolicy::ALLOW },
                unprivileged_deny: false,
                exempt: vec![],
            }));
        };
        let lock = LockKeys {
            profile: &raw.profile,
            allow: None,
            block: None,
            events: raw.events.as_ref(),
            mode: raw.mode.as_ref(),
        }
        .policy(doc, defaults, NAME, &[])?;
        let unprivileged_deny = match &raw.unprivileged {
            Some(v) => {
                parse_unprivileged(v.get_ref()).map_err(|m| doc.checker.error(v.span(), format!("{NAME}.{m}")))?
            }
            None => false,
        };
        if raw.exempt.len() > abi::NSLOCK_MAX_EXEMPT as usize {
            let span = raw.exempt[abi::NSLOCK_MAX_EXEMPT as usize].span();
            return Err(doc.checker.error(
                span,
                format!("{NAME}.exempt: more than {} executables (nslock_exempt is full)", abi::NSLOCK_MAX_EXEMPT),
            ));
        }
        let mut exempt = Vec::new();
        for path in &raw.exempt {
            if !path.get_ref().starts_with('/') {
                return Err(doc
                    .checker
                    .error(path.span(), format!("{NAME}.exempt: \"{}\" is not an absolute path", path.get_ref())));
            }
            if !unprivileged_deny {
                return Err(doc
                    .checker
                    .error(path.span(), format!("{NAME}.exempt: only valid with unprivileged = \"deny\"")));
            }
            let (line, col) = doc.checker.line_col(path.span().start);
            exempt.push(Exempt { path: path.get_ref().clone(), at: format!("{}:{line}:{col}", doc.checker.origin) });
        }
        Ok(Box::new(NslockPolicy { lock, unprivileged_deny, exempt }))
    }

    fn apply_overrides(&self, section: &mut dyn Section, o: &Overrides) -> Result<()> {
        let policy = protection::section_mut::<NslockPolicy>(section);
        override_lock(&mut policy.lock, NAME, &[], o)?;
        if let Some(value) = o.value("nslock-unprivileged") {
            policy.unprivileged_deny = parse_unprivileged(value)
                .map_err(|message| Error::Override { flag: "--nslock-unprivileged".into(), message })?;
        }
        Ok(())
    }

    fn missing_hooks(&self) -> Result<Option<String>> {
        skeleton::missing_hooks(NAME, NslockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
    }

    fn probe(&self, _section: &dyn Section, btf: &KernelBtf) -> (Vec<String>, Option<NotSupported>) {
        let hooks = namespace_hooks(btf);
        let line = match hooks.is_empty() {
            true => format!("nslock: {NOT_SEEN}"),
            false => format!("nslock: this kernel has namespace hooks nslock does not use yet: {}", hooks.join(", ")),
        };
        (vec![line], None)
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        let NslockPolicy { lock: policy, unprivileged_deny, exempt } = protection::section(section);
        // Resolved before anything is loaded; an executable that is gone is skipped alone.
        let mut keys = Vec::new();
        for e in exempt {
            match crate::kernel::file_identity(&e.path) {
                Ok((dev, ino)) => keys.push(types::nslock_exec_key { dev, pad: 0, ino }),
                Err(err) if err.is_gone() => ctx.skipped.borrow_mut().push(format!("{NAME}: {}: exempt: {err}", e.at)),
                Err(err) => {
                    return Err(Error::Protection { protection: NAME, message: format!("{}: exempt: {err}", e.at) })
                }
            }
        }
        let mut object = MaybeUninit::uninit();
        let mut open = skeleton::open(NAME, NslockSkelBuilder::default(), &mut object)?;
        let config = open.maps.rodata_data.as_deref_mut().expect("nslock has .rodata");
        config.nslock_profile = policy.profile as u32;
        config.nslock_unprivileged_deny = *unprivileged_deny;
        config.bpflock_complain = policy.complain;
        events::configure_events!(ctx.shared, open, config, policy.events)?;
        skeleton::carries_pins_guard(NAME, ctx.shared, policy.enforces(), open.open_object_mut());
        let mut skel = skeleton::load(NAME, open, &[])?;
        for key in &keys {
            skel.maps.nslock_exempt.update(skeleton::bytes_of(key), &[1u8], MapFlags::ANY).map_err(|e| {
                Error::Protection { protection: NAME, message: format!("cannot record an exempt executable: {e}") }
            })?;
        }
        events::pin_events!(ctx.shared, skel)?;
        skeleton::pin_map(&mut skel.maps.rodata, ctx.dir, "config")?;
        let maps = ctx.dir.join(crate::pins::MAPS_DIR);
        crate::pins::mkdir(&maps)?;
        skeleton::pin_map(&mut skel.maps.nslock_exempt, &maps, "exempt")?;
        skeleton::attach_all(NAME, skel.object(), ctx.dir)
    }

    fn status(&self, dir: &Path, st: &mut ProtectionStatus) {
        let c: types::rodata = match skeleton::read_config(dir) {
            Ok(c) => c,
            Err(e) => return st.unreadable.push(format!("policy: {e}")),
        };
        lock::status(st, &[], c.nslock_profile, 0, 0, c.bpflock_events_mode, c.bpflock_complain);
        let exempt = crate::skel::open_read_only(&dir.join(crate::pins::MAPS_DIR).join("exempt"))
            .map(|m| m.keys().count())
            .unwrap_or(0);
        if c.nslock_unprivileged_deny {
            st.policy_notes.push(format!("unprivileged user namespaces denied ({exempt} exempt executables)"));
        }
        st.details.insert("unprivileged".into(), if c.nslock_unprivileged_deny { "deny" } else { "allow" }.into());
        st.details.insert("exempt".into(), exempt.into());
        if let Ok(btf) = KernelBtf::load() {
            if namespace_hooks(&btf).is_empty() {
                st.lines.push(NOT_SEEN.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprivileged_values() {
        assert_eq!(parse_unprivileged("deny"), Ok(true));
        assert_eq!(parse_unprivileged("allow"), Ok(false));
        assert!(parse_unprivileged("dney").unwrap_err().contains("did you mean `deny`"));
    }
}
