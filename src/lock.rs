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
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        doc: &Document<'_>,
        defaults: &Defaults,
        name: &str,
        operations: &'static [Operation],
        loads_under_allow: bool,
        profile: &Spanned<String>,
        allow: Option<&RawList>,
        block: Option<&RawList>,
        events: Option<&Spanned<String>>,
        mode: Option<&Spanned<String>>,
    ) -> Result<Self, PolicyError> {
        Ok(Self {
            lock: LockPolicy {
                events: doc.events(&format!("{name}.events"), events, defaults)?,
                complain: doc.checker.complain(name, mode)?,
                ..doc.checker.lock(name, operations, profile, allow, block)?
            },
            operations,
            loads_under_allow,
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
