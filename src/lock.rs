//! What the system-wide locks share: a profile with `allow`/`block` lists of named
//! operations, as a policy section and as status reads it back.

use toml::Spanned;

use crate::{
    error::PolicyError,
    protection::{ProtectionStatus, Section},
    section_any,
    vocabulary::{Defaults, Document, EventsMode, LockPolicy, OpSet, Operation, Profile, RawList},
};

/// A lock's part of the policy.
#[derive(Debug)]
pub struct LockSection {
    pub lock: LockPolicy,
    operations: &'static [Operation],
    /// Loaded under `allow` too, where the policy has the section (filelesslock reports).
    loads_under_allow: bool,
}

impl LockSection {
    /// The section a policy without it gets: allow, the default events.
    pub fn absent(operations: &'static [Operation], loads_under_allow: bool, defaults: &Defaults) -> Self {
        Self { lock: LockPolicy { events: defaults.events, ..LockPolicy::ALLOW }, operations, loads_under_allow }
    }

    /// The section `name` of `doc`, from its raw keys.
    pub fn parse(
        doc: &Document<'_>,
        defaults: &Defaults,
        name: &str,
        operations: &'static [Operation],
        loads_under_allow: bool,
        keys: LockKeys<'_>,
    ) -> Result<Self, PolicyError> {
        Ok(Self { lock: keys.policy(doc, defaults, name, operations)?, operations, loads_under_allow })
    }
}

/// The keys every lock's section has, as its raw section holds them (a lock without
/// `allow` or `block` lists gives None: its raw section refuses those keys).
pub struct LockKeys<'a> {
    pub profile: &'a Spanned<String>,
    pub allow: Option<&'a RawList>,
    pub block: Option<&'a RawList>,
    pub events: Option<&'a Spanned<String>>,
    pub mode: Option<&'a Spanned<String>>,
}

impl LockKeys<'_> {
    /// The lock's policy: profile, lists, events (or the default) and mode.
    pub fn policy(
        &self,
        doc: &Document<'_>,
        defaults: &Defaults,
        name: &str,
        operations: &'static [Operation],
    ) -> Result<LockPolicy, PolicyError> {
        Ok(LockPolicy {
            events: doc.events(&format!("{name}.events"), self.events, defaults)?,
            complain: doc.checker.complain(name, self.mode)?,
            ..doc.checker.lock(name, operations, self.profile, self.allow, self.block)?
        })
    }
}

impl Section for LockSection {
    fn wanted(&self) -> bool {
        match self.loads_under_allow {
            true => self.lock.present,
            false => self.lock.enabled(),
        }
    }
    fn describe(&self) -> String {
        self.lock.describe(self.operations)
    }
    fn events(&self) -> EventsMode {
        self.lock.events
    }
    section_any!();
}

/// Status of a pinned lock from its recorded profile, lists and events setting.
pub fn status(
    st: &mut ProtectionStatus,
    operations: &'static [Operation],
    profile: u32,
    allow: u64,
    block: u64,
    events: u32,
    complain: bool,
) {
    st.profile = Some(Profile::from_raw(profile).unwrap_or(Profile::Restricted).to_string());
    if complain {
        st.policy_notes.push("complain mode: nothing refused, would-deny reported".into());
        st.details.insert("mode".into(), "complain".into());
    }
    st.events = Some(EventsMode::from_raw(events).name());
    st.allow = OpSet(allow).names(operations);
    st.block = OpSet(block).names(operations);
}
