//! usblock: USB devices allowed by the policy, every other one left unauthorized
//! (bpf/usblock.bpf.c keeps everyone else off the kernel's USB authorization).
//!
//! This file: the policy section (`[usblock]`: rules.rs), setup (load, fill and freeze the
//! rule maps, pin), and, once the pins are in force (`after_commit`), the root hubs locked
//! and the devices already attached judged. authorize.rs is `bpflock usb-authorize` (run by
//! udev for each new device) and `bpflock usb list`; sysfs.rs reads and writes the kernel's
//! authorization files.

mod authorize;
pub mod rules;
mod sysfs;

use std::{mem::MaybeUninit, path::Path};

use libbpf_rs::{
    skel::{OpenSkel as _, Skel as _},
    MapCore as _, MapFlags,
};
use serde::Deserialize;
use toml::Spanned;

pub use authorize::{list, usb_authorize};
use rules::Rule;

use crate::{
    abi,
    error::{Error, PolicyError, Result},
    events,
    lock::{self, LockKeys},
    lock_flag,
    overrides::{override_lock, Flag, FlagKind, Overrides},
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    section_any, skel as skeleton,
    vocabulary::{parse_switch, Defaults, Document, EventsMode, LockPolicy, Profile},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/usblock.skel.rs"));
}
use skel::{types, UsblockSkelBuilder};

const NAME: &str = "usblock";
/// Pin names under `maps/`.
const RULES_PIN: &str = "rules";
const PRESENT_PIN: &str = "present";

pub struct Usblock;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<Spanned<String>>,
    serial: Option<Spanned<String>>,
    port: Option<Spanned<String>>,
    /// A class, or a list of them.
    class: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsblock {
    profile: Spanned<String>,
    present: Option<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<RawRule>>,
    events: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

#[derive(Debug)]
pub(crate) struct UsblockPolicy {
    lock: LockPolicy,
    /// present = "allow": the devices attached at the boot's first bootstrap are allowed.
    present_allow: bool,
    rules: Vec<Rule>,
}

impl Section for UsblockPolicy {
    fn wanted(&self) -> bool {
        self.lock.enabled()
    }
    fn describe(&self) -> String {
        let mut line = self.lock.describe(&[]);
        if self.lock.enabled() {
            line.push_str(&format!("; {} rules", self.rules.len()));
            if self.present_allow {
                line.push_str("; devices present at boot allowed");
            }
        }
        line
    }
    fn events(&self) -> EventsMode {
        self.lock.events
    }
    section_any!();
}

/// `present`: "allow", or "rules" (the default: present devices are judged by the rules too).
fn parse_present(value: &str) -> Result<bool, String> {
    parse_switch(value, "allow", "rules", "value").map_err(|e| format!("present: {e}"))
}

fn parse_rule(doc: &Document<'_>, raw: &Spanned<RawRule>) -> Result<Rule, PolicyError> {
    let at_span = |span: std::ops::Range<usize>, m: String| doc.checker.error(span, format!("{NAME}.allow: {m}"));
    let r = raw.get_ref();
    let mut rule = Rule::default();
    if let Some(id) = &r.id {
        let (vendor, product) = rules::parse_id(id.get_ref()).map_err(|m| at_span(id.span(), m))?;
        (rule.vendor, rule.product) = (Some(vendor), product);
    }
    if let Some(serial) = &r.serial {
        rule.serial = Some(rules::parse_serial(serial.get_ref()).map_err(|m| at_span(serial.span(), m))?);
    }
    if let Some(port) = &r.port {
        rule.port = Some(rules::parse_port(port.get_ref()).map_err(|m| at_span(port.span(), m))?);
    }
    if let Some(class) = &r.class {
        // Items of a list carry no place of their own: errors point at the list.
        let err = |m: String| at_span(class.span(), m);
        let names: Vec<&str> = match class.get_ref() {
            toml::Value::String(s) => vec![s.as_str()],
            toml::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().ok_or_else(|| err(format!("class: {v} is not a string"))))
                .collect::<Result<_, _>>()?,
            other => return Err(err(format!("class: a class name or a list of them, not {}", other.type_str()))),
        };
        if names.is_empty() {
            return Err(err("class = []: an empty list allows nothing; leave class out to allow every interface".into()));
        }
        if names.len() > abi::USBLOCK_RULE_CLASSES as usize {
            return Err(err(format!("more than {} classes in one rule", abi::USBLOCK_RULE_CLASSES)));
        }
        for name in names {
            rule.classes.push(rules::parse_class(name).map_err(&err)?);
        }
    }
    if r.id.is_none() && r.serial.is_none() && r.port.is_none() && r.class.is_none() {
        return Err(at_span(raw.span(), "an empty rule would allow every device; name an id, serial, port or class".into()));
    }
    let (line, col) = doc.checker.line_col(raw.span().start);
    rule.at = format!("{}:{line}:{col}", doc.checker.origin);
    if rule.at.len() >= abi::USBLOCK_AT_LEN as usize {
        let origin = Path::new(doc.checker.origin).file_name().map(|n| n.to_string_lossy().into_owned());
        rule.at = format!("{}:{line}:{col}", origin.unwrap_or_default());
    }
    Ok(rule)
}

const FLAGS: &[Flag] = &[
    lock_flag!(profile, "usblock", "usblock profile: allow, baseline or restricted"),
    lock_flag!(mode, "usblock"),
    Flag {
        name: "usblock-present",
        kind: FlagKind::Value("allow|rules"),
        help: "allow: the USB devices attached at the boot's first bootstrap are allowed",
    },
];

/// A rule as the pinned map stores it.
fn pinned_rule(rule: &Rule) -> types::usblock_rule {
    let mut raw = types::usblock_rule::default();
    let bits = [
        (rule.vendor.is_some(), abi::USBLOCK_MATCH_VENDOR),
        (rule.product.is_some(), abi::USBLOCK_MATCH_PRODUCT),
        (rule.serial.is_some(), abi::USBLOCK_MATCH_SERIAL),
        (rule.port.is_some(), abi::USBLOCK_MATCH_PORT),
        (!rule.classes.is_empty(), abi::USBLOCK_MATCH_CLASS),
    ];
    raw.r#match = bits.iter().filter(|(on, _)| *on).fold(0, |m, (_, bit)| m | bit);
    raw.vendor = rule.vendor.unwrap_or(0);
    raw.product = rule.product.unwrap_or(0);
    raw.n_classes = rule.classes.len() as u32;
    for (slot, c) in raw.classes.iter_mut().zip(&rule.classes) {
        *slot = types::usblock_class { cls: c.cls, subclass: c.subclass, protocol: c.protocol, mask: c.mask };
    }
    copy_str(&mut raw.port, rule.port.as_deref().unwrap_or(""));
    copy_str(&mut raw.serial, rule.serial.as_deref().unwrap_or(""));
    copy_str(&mut raw.at, &rule.at);
    raw
}

/// A rule read back from the pinned map.
fn rule_of_pinned(raw: &types::usblock_rule) -> Rule {
    let has = |bit: u32| raw.r#match & bit != 0;
    Rule {
        vendor: has(abi::USBLOCK_MATCH_VENDOR).then_some(raw.vendor),
        product: has(abi::USBLOCK_MATCH_PRODUCT).then_some(raw.product),
        serial: has(abi::USBLOCK_MATCH_SERIAL).then(|| crate::events::c_chars(&raw.serial, raw.serial.len()).into_owned()),
        port: has(abi::USBLOCK_MATCH_PORT).then(|| crate::events::c_chars(&raw.port, raw.port.len()).into_owned()),
        classes: raw.classes[..(raw.n_classes as usize).min(raw.classes.len())]
            .iter()
            .map(|c| rules::ClassPattern { cls: c.cls, subclass: c.subclass, protocol: c.protocol, mask: c.mask })
            .collect(),
        at: crate::events::c_chars(&raw.at, raw.at.len()).into_owned(),
    }
}

fn copy_str(dst: &mut [i8], s: &str) {
    // Validated shorter than the field (rules.rs): the NUL fits.
    let room = dst.len() - 1;
    for (d, b) in dst.iter_mut().zip(s.bytes().take(room)) {
        *d = b as i8;
    }
}

fn refused(message: String) -> Error {
    Error::Protection { protection: NAME, message }
}

/// The devices of the boot's first bootstrap: carried over from the pins in force, else the
/// devices attached now.
fn present_devices(live: &Path) -> Result<Vec<u64>> {
    let pinned = live.join(crate::pins::MAPS_DIR).join(PRESENT_PIN);
    if pinned.exists() {
        let map = skeleton::open_read_only(&pinned).map_err(|e| refused(format!("{}: {e}", pinned.display())))?;
        return Ok(map.keys().filter_map(|k| Some(u64::from_ne_bytes(k.try_into().ok()?))).collect());
    }
    let sys = sysfs::Sysfs::open().map_err(|e| refused(format!("/sys: {e}")))?;
    // A device that cannot be read is not recorded: judged by the rules, it is refused.
    let devices = sysfs::devices(&sys).map_err(|e| refused(format!("the USB devices cannot be listed: {e}")))?;
    Ok(devices.into_iter().flatten().map(|d| d.ino).collect())
}

impl Protection for Usblock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        match abi::name_of(abi::USBLOCK_OP, op) {
            Some(name) => name.into(),
            None => op.to_string().into(),
        }
    }

    fn about_operations(&self) -> Option<String> {
        let names: Vec<&str> = abi::USBLOCK_OP.iter().map(|(n, _)| *n).collect();
        Some(format!("no lists: a profile, `present` and `allow` rules; its events report: {}", names.join(", ")))
    }

    fn flags(&self) -> &'static [Flag] {
        FLAGS
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        let Some(raw) = doc.section::<RawUsblock>(NAME)? else {
            return Ok(Box::new(UsblockPolicy {
                lock: LockPolicy { events: defaults.events, ..LockPolicy::ALLOW },
                present_allow: false,
                rules: vec![],
            }));
        };
        let lock = LockKeys { profile: &raw.profile, allow: None, block: None, events: raw.events.as_ref(), mode: raw.mode.as_ref() }
            .policy(doc, defaults, NAME, &[])?;
        let present_allow = match &raw.present {
            Some(v) => parse_present(v.get_ref()).map_err(|m| doc.checker.error(v.span(), format!("{NAME}.{m}")))?,
            None => false,
        };
        if raw.allow.len() > abi::USBLOCK_MAX_RULES as usize {
            let span = raw.allow[abi::USBLOCK_MAX_RULES as usize].span();
            return Err(doc.checker.error(span, format!("{NAME}.allow: more than {} rules", abi::USBLOCK_MAX_RULES)));
        }
        let rules = raw.allow.iter().map(|r| parse_rule(doc, r)).collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(UsblockPolicy { lock, present_allow, rules }))
    }

    fn apply_overrides(&self, section: &mut dyn Section, o: &Overrides) -> Result<()> {
        let policy = protection::section_mut::<UsblockPolicy>(section);
        override_lock(&mut policy.lock, NAME, &[], o)?;
        if let Some(value) = o.value("usblock-present") {
            policy.present_allow = parse_present(value)
                .map_err(|message| Error::Override { flag: "--usblock-present".into(), message })?;
        }
        Ok(())
    }

    fn missing_hooks(&self) -> Result<Option<String>> {
        skeleton::missing_hooks(NAME, UsblockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
    }

    fn probe(&self, _section: &dyn Section, _btf: &crate::kernel::KernelBtf) -> (Vec<String>, Option<crate::error::NotSupported>) {
        let mut lines = vec![];
        if !Path::new("/sys").join(sysfs::USBCORE_PARAM).exists() {
            lines.push(format!("{NAME}: usbcore is not loaded: controllers added before the udev rule runs start unlocked unless usbcore.authorized_default=0 is on the kernel command line"));
        }
        (lines, None)
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        let UsblockPolicy { lock: policy, present_allow, rules } = protection::section(section);
        let present = present_devices(ctx.live)?;
        if present.len() > abi::USBLOCK_MAX_PRESENT as usize {
            return Err(refused(format!("{} USB devices attached: more than {} (USBLOCK_MAX_PRESENT)", present.len(), abi::USBLOCK_MAX_PRESENT)));
        }
        let mut object = MaybeUninit::uninit();
        let mut open = skeleton::open(NAME, UsblockSkelBuilder::default(), &mut object)?;
        let config = open.maps.rodata_data.as_deref_mut().expect("usblock has .rodata");
        config.usblock_profile = policy.profile as u32;
        config.usblock_present_allow = *present_allow;
        config.usblock_rule_count = rules.len() as u32;
        config.bpflock_complain = policy.complain;
        (config.bpflock_exe_dev, config.bpflock_exe_ino) = crate::kernel::bpflock_exe_identity()?;
        events::configure_events!(ctx.shared, open, config, policy.events)?;
        skeleton::carries_pins_guard(NAME, ctx.shared, policy.enforces(), open.open_object_mut());
        let mut skel = skeleton::load(NAME, open, &[])?;
        for (i, rule) in rules.iter().enumerate() {
            skel.maps
                .usblock_rules
                .update(&(i as u32).to_ne_bytes(), skeleton::bytes_of(&pinned_rule(rule)), MapFlags::ANY)
                .map_err(|e| refused(format!("cannot record rule {}: {e}", rule.at)))?;
        }
        for ino in &present {
            skel.maps
                .usblock_present
                .update(&sysfs::present_key(*ino), &[1u8], MapFlags::ANY)
                .map_err(|e| refused(format!("cannot record a present device: {e}")))?;
        }
        skeleton::freeze(NAME, &skel.maps.usblock_rules)?;
        skeleton::freeze(NAME, &skel.maps.usblock_present)?;
        events::pin_events!(ctx.shared, skel)?;
        skeleton::pin_map(&mut skel.maps.rodata, ctx.dir, "config")?;
        let maps = ctx.dir.join(crate::pins::MAPS_DIR);
        crate::pins::mkdir(&maps)?;
        skeleton::pin_map(&mut skel.maps.usblock_rules, &maps, RULES_PIN)?;
        skeleton::pin_map(&mut skel.maps.usblock_present, &maps, PRESENT_PIN)?;
        skeleton::attach_all(NAME, skel.object(), ctx.dir)
    }

    fn after_commit(&self, _section: &dyn Section, dir: &Path) -> Result<()> {
        authorize::apply_pinned(dir)
    }

    fn status(&self, dir: &Path, st: &mut ProtectionStatus) {
        let c: types::rodata = match skeleton::read_config(dir) {
            Ok(c) => c,
            Err(e) => return st.unreadable.push(format!("policy: {e}")),
        };
        lock::status(st, &[], c.usblock_profile, 0, 0, c.bpflock_events_mode, c.bpflock_complain);
        st.policy_notes.push(format!("{} rules", c.usblock_rule_count));
        if c.usblock_present_allow {
            st.policy_notes.push("devices present at boot allowed".into());
        }
        st.details.insert("rules".into(), c.usblock_rule_count.into());
        st.details.insert("present".into(), if c.usblock_present_allow { "allow" } else { "rules" }.into());
        authorize::status(dir, st);
    }
}

/// The pinned state `usb-authorize` decides by.
struct Pinned {
    profile: Profile,
    complain: bool,
    present_allow: bool,
    rules: Vec<Rule>,
    present: libbpf_rs::MapHandle,
}

impl Pinned {
    /// The pins in `dir`; None where usblock is not pinned. Only BPF_OBJ_GET and lookups by
    /// key: what bpfrestrict `restricted` leaves the bpflock executable.
    fn read(dir: &Path) -> Result<Option<Self>> {
        if !dir.exists() {
            return Ok(None);
        }
        let c: types::rodata = skeleton::read_config(dir)?;
        let maps = dir.join(crate::pins::MAPS_DIR);
        let open = |name: &str| {
            let path = maps.join(name);
            skeleton::open_read_only(&path).map_err(|e| refused(format!("{}: {e}", path.display())))
        };
        let rules_map = open(RULES_PIN)?;
        let mut rules = Vec::new();
        for i in 0..c.usblock_rule_count.min(abi::USBLOCK_MAX_RULES) {
            let value = rules_map
                .lookup(&i.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| refused(format!("reading rule {i}: {e}")))?
                .ok_or_else(|| refused(format!("rule {i} is missing")))?;
            if value.len() != std::mem::size_of::<types::usblock_rule>() {
                return Err(refused(format!("pinned rules of another layout ({} bytes)", value.len())));
            }
            // SAFETY: the value is exactly one struct usblock_rule, plain data.
            let raw: types::usblock_rule = unsafe { std::ptr::read_unaligned(value.as_ptr().cast()) };
            rules.push(rule_of_pinned(&raw));
        }
        Ok(Some(Self {
            profile: Profile::from_raw(c.usblock_profile).unwrap_or(Profile::Restricted),
            complain: c.bpflock_complain,
            present_allow: c.usblock_present_allow,
            rules,
            present: open(PRESENT_PIN)?,
        }))
    }

    fn is_present(&self, ino: u64) -> bool {
        matches!(self.present.lookup(&sysfs::present_key(ino), MapFlags::ANY), Ok(Some(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_survive_the_pinned_form() {
        let rule = Rule {
            vendor: Some(0x0525),
            product: None,
            serial: Some("1".into()),
            port: Some("1-3".into()),
            classes: vec![rules::parse_class("comm").unwrap()],
            at: "policy.toml:3:11".into(),
        };
        assert_eq!(rule_of_pinned(&pinned_rule(&rule)), rule);
        let by_port = Rule { port: Some("2-1.4".into()), at: "x:1:1".into(), ..Default::default() };
        assert_eq!(rule_of_pinned(&pinned_rule(&by_port)), by_port);
    }

    #[test]
    fn present_values() {
        assert_eq!(parse_present("allow"), Ok(true));
        assert_eq!(parse_present("rules"), Ok(false));
        assert!(parse_present("alow").unwrap_err().contains("did you mean `allow`"));
    }
}
