//! usblock's rules: what the policy's `allow` says, how a device is judged by them, and the
//! pinned form bootstrap writes and `bpflock usb-authorize` reads (bpf/usblock.h).

use std::collections::BTreeMap;

use crate::abi;

/// Interface classes by name (USB-IF base class codes), as rules and `usb list` write them.
pub const CLASS_NAMES: &[(&str, u8)] = &[
    ("audio", 0x01),
    ("comm", 0x02),
    ("hid", 0x03),
    ("physical", 0x05),
    ("image", 0x06),
    ("printer", 0x07),
    ("storage", 0x08),
    ("hub", 0x09),
    ("cdc-data", 0x0a),
    ("smartcard", 0x0b),
    ("security", 0x0d),
    ("video", 0x0e),
    ("healthcare", 0x0f),
    ("av", 0x10),
    ("billboard", 0x11),
    ("diagnostic", 0xdc),
    ("wireless", 0xe0),
    ("misc", 0xef),
    ("application", 0xfe),
    ("vendor", 0xff),
];

/// An interface's class, subclass and protocol.
pub type ClassTriple = (u8, u8, u8);

/// A class pattern: the fields whose bit is in `mask` (1 class, 2 subclass, 4 protocol) must
/// be equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassPattern {
    pub cls: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub mask: u8,
}

impl ClassPattern {
    pub fn matches(&self, (cls, subclass, protocol): ClassTriple) -> bool {
        (self.mask & 1 == 0 || cls == self.cls)
            && (self.mask & 2 == 0 || subclass == self.subclass)
            && (self.mask & 4 == 0 || protocol == self.protocol)
    }
}

/// The name of a class code, or its two hex digits.
pub fn class_name(cls: u8) -> String {
    match CLASS_NAMES.iter().find(|(_, c)| *c == cls) {
        Some((name, _)) => name.to_string(),
        None => format!("{cls:02x}"),
    }
}

/// `class`: a name ("hid"), "NN", or "NN:SS:PP" in hex with `*` for any.
pub fn parse_class(text: &str) -> Result<ClassPattern, String> {
    if let Some((_, cls)) = CLASS_NAMES.iter().find(|(name, _)| *name == text) {
        return Ok(ClassPattern { cls: *cls, subclass: 0, protocol: 0, mask: 1 });
    }
    let parts: Vec<&str> = text.split(':').collect();
    let looks_numeric = text.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '*');
    if !looks_numeric || (parts.len() != 1 && parts.len() != 3) {
        let names: Vec<&str> = CLASS_NAMES.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "unknown class \"{text}\"{} (a name: {}; or \"NN\" or \"NN:SS:PP\" in hex, * for any)",
            crate::vocabulary::did_you_mean(text, names.iter().copied()),
            names.join(", ")
        ));
    }
    let mut pattern = ClassPattern { cls: 0, subclass: 0, protocol: 0, mask: 0 };
    for (i, part) in parts.iter().enumerate() {
        if *part == "*" {
            continue;
        }
        if part.len() != 2 {
            return Err(format!("class \"{text}\": \"{part}\" is not two hex digits or *"));
        }
        let value = u8::from_str_radix(part, 16).map_err(|_| format!("class \"{text}\": \"{part}\" is not hex"))?;
        match i {
            0 => pattern.cls = value,
            1 => pattern.subclass = value,
            _ => pattern.protocol = value,
        }
        pattern.mask |= 1 << i;
    }
    Ok(pattern)
}

/// `id`: "vvvv:pppp" or "vvvv:*", in hex.
pub fn parse_id(text: &str) -> Result<(u16, Option<u16>), String> {
    let malformed = || format!("id \"{text}\": expected \"vvvv:pppp\" or \"vvvv:*\" (four hex digits each, as lsusb shows)");
    let (vendor, product) = text.split_once(':').ok_or_else(malformed)?;
    let hex4 = |s: &str| (s.len() == 4).then(|| u16::from_str_radix(s, 16).ok()).flatten();
    let vendor = hex4(vendor).ok_or_else(malformed)?;
    match product {
        "*" => Ok((vendor, None)),
        p => Ok((vendor, Some(hex4(p).ok_or_else(malformed)?))),
    }
}

/// `port`: the device's name in sysfs, bus-port[.port...] ("1-1", "3-2.4").
pub fn parse_port(text: &str) -> Result<String, String> {
    let bad = || format!("port \"{text}\": expected a USB port as sysfs names it, BUS-PORT[.PORT...] (\"1-1\", \"3-2.4\")");
    let (bus, ports) = text.split_once('-').ok_or_else(bad)?;
    let numeric = |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| c.is_ascii_digit());
    if !numeric(bus) || !ports.split('.').all(numeric) || text.len() >= abi::USBLOCK_PORT_LEN as usize {
        return Err(bad());
    }
    Ok(text.to_string())
}

/// `serial`: the device's iSerialNumber string, exactly.
pub fn parse_serial(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() >= abi::USBLOCK_SERIAL_LEN as usize || text.contains('\0') {
        return Err(format!("serial: 1 to {} bytes, no NUL", abi::USBLOCK_SERIAL_LEN - 1));
    }
    Ok(text.to_string())
}

/// One rule of `allow`: its keys ANDed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    pub vendor: Option<u16>,
    pub product: Option<u16>,
    pub serial: Option<String>,
    pub port: Option<String>,
    /// Empty: every interface. Else an interface whose every altsetting matches one of them.
    pub classes: Vec<ClassPattern>,
    /// Where the policy wrote it ("policy.toml:9:5").
    pub at: String,
}

/// What the kernel shows of a USB device, as rules match it.
#[derive(Debug, Clone, Default)]
pub struct DeviceIds {
    pub vendor: u16,
    pub product: u16,
    pub serial: Option<String>,
    /// Its sysfs name: "1-1".
    pub port: String,
    /// Every interface of every configuration: (configuration, interface number) -> the
    /// class of each altsetting.
    pub interfaces: BTreeMap<(u8, u8), Vec<ClassTriple>>,
    /// Why its descriptors could not be read as the kernel reads them, if so: then no rule
    /// with `class` allows it (its interfaces are unknown).
    pub malformed: Option<String>,
}

impl Rule {
    /// Whether the rule names this device (every key but `class`).
    pub fn names(&self, d: &DeviceIds) -> bool {
        self.vendor.is_none_or(|v| v == d.vendor)
            && self.product.is_none_or(|p| p == d.product)
            && self.serial.as_ref().is_none_or(|s| d.serial.as_ref() == Some(s))
            && self.port.as_ref().is_none_or(|p| *p == d.port)
    }

    /// Whether it allows an interface whose altsettings have these classes.
    pub fn allows_interface(&self, alts: &[ClassTriple]) -> bool {
        self.classes.is_empty() || (!alts.is_empty() && alts.iter().all(|&c| self.classes.iter().any(|p| p.matches(c))))
    }

    /// The rule as `usb list` suggests it and the docs write it.
    pub fn to_toml(&self) -> String {
        let mut keys = Vec::new();
        match (self.vendor, self.product) {
            (Some(v), Some(p)) => keys.push(format!("id = \"{v:04x}:{p:04x}\"")),
            (Some(v), None) => keys.push(format!("id = \"{v:04x}:*\"")),
            _ => {}
        }
        if let Some(s) = &self.serial {
            keys.push(format!("serial = {}", toml_string(s)));
        }
        if let Some(p) = &self.port {
            keys.push(format!("port = \"{p}\""));
        }
        let classes: Vec<String> = self.classes.iter().map(|c| format!("\"{}\"", pattern_text(c))).collect();
        match classes.len() {
            0 => {}
            1 => keys.push(format!("class = {}", classes[0])),
            _ => keys.push(format!("class = [{}]", classes.join(", "))),
        }
        format!("{{ {} }}", keys.join(", "))
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn pattern_text(c: &ClassPattern) -> String {
    if c.mask == 1 {
        return class_name(c.cls);
    }
    let field = |bit: u8, v: u8| if c.mask & bit != 0 { format!("{v:02x}") } else { "*".into() };
    format!("{}:{}:{}", field(1, c.cls), field(2, c.subclass), field(4, c.protocol))
}

/// How a device is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Attached at the boot's first bootstrap, with present = "allow".
    Present,
    /// The first rule that names it and allows one of its interfaces (its index).
    Rule(usize),
    /// No rule names it with an interface it allows.
    NoRule,
}

/// A device's judgement: whether it is authorized, why, and which of its interfaces are
/// (by configuration and number: the rule that allows each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub reason: Reason,
    /// Every interface allowed: a present device, or one a rule without `class` names.
    pub every_interface: bool,
    pub interfaces: BTreeMap<(u8, u8), Option<usize>>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.reason != Reason::NoRule
    }

    /// Whether an interface (configuration, number) is allowed.
    pub fn interface_allowed(&self, key: (u8, u8)) -> bool {
        self.every_interface || self.interfaces.get(&key).is_some_and(|r| r.is_some())
    }

    /// Whether an interface the kernel made is allowed, with the class its current
    /// altsetting has: one the descriptors judged did not show (the kernel read them
    /// otherwise) is refused unless every interface is allowed.
    pub fn configured_interface_allowed(&self, device: &DeviceIds, key: (u8, u8), class: ClassTriple) -> bool {
        self.every_interface
            || (self.interface_allowed(key) && device.interfaces.get(&key).is_some_and(|alts| alts.contains(&class)))
    }
}

/// Judges a device: present devices (under present = "allow") get every interface; else
/// each interface is allowed by the first rule that names the device and allows it, and the
/// device is authorized if one is. A rule without `class` allows every interface, described
/// or not.
pub fn decide(rules: &[Rule], device: &DeviceIds, present: bool) -> Decision {
    let interfaces: BTreeMap<(u8, u8), Option<usize>> = match device.malformed {
        Some(_) => BTreeMap::new(),
        None => device
            .interfaces
            .iter()
            .map(|(key, alts)| (*key, rules.iter().position(|r| r.names(device) && r.allows_interface(alts))))
            .collect(),
    };
    if present {
        return Decision { reason: Reason::Present, every_interface: true, interfaces };
    }
    let by_interface = interfaces.values().flatten().min().copied();
    let by_device = rules.iter().position(|r| r.names(device) && r.classes.is_empty());
    let reason = match by_interface.into_iter().chain(by_device).min() {
        Some(i) => Reason::Rule(i),
        None => Reason::NoRule,
    };
    Decision { reason, every_interface: by_device.is_some(), interfaces }
}

/// The interfaces of a device's `descriptors` sysfs file: its device descriptor (18 bytes),
/// then each configuration as the kernel keeps it (its descriptor, then the rest of its
/// wTotalLength bytes). Readable while the device is not authorized, so that it is judged
/// before it is configured. Read as strictly as the kernel reads it, or refused: a device or
/// configuration descriptor inside a configuration (the kernel skips it, and keeps what
/// follows in the configuration before it: a parser that switched configuration there
/// would judge an altsetting the kernel uses under another interface), a descriptor that
/// overruns, a file as long as sysfs shows (the rest was cut).
pub fn parse_descriptors(bytes: &[u8]) -> Result<BTreeMap<(u8, u8), Vec<ClassTriple>>, String> {
    const DEVICE_LEN: usize = 18;
    const DEVICE: u8 = 1;
    const CONFIGURATION: u8 = 2;
    const INTERFACE: u8 = 4;
    if bytes.len() < DEVICE_LEN || bytes[0] as usize != DEVICE_LEN || bytes[1] != DEVICE {
        return Err("no device descriptor".into());
    }
    if bytes.len() >= DEVICE_LEN + 65535 {
        return Err("descriptors longer than sysfs shows".into());
    }
    let mut interfaces: BTreeMap<(u8, u8), Vec<ClassTriple>> = BTreeMap::new();
    let mut at = DEVICE_LEN;
    while at < bytes.len() {
        let head = &bytes[at..];
        if head.len() < 9 || head[0] < 9 || head[1] != CONFIGURATION {
            return Err(format!("no configuration descriptor at byte {at}"));
        }
        let total = u16::from_le_bytes([head[2], head[3]]) as usize;
        if total < head[0] as usize || at + total > bytes.len() {
            return Err(format!("configuration at byte {at}: wTotalLength {total} does not fit"));
        }
        let (config, end) = (head[5], at + total);
        let mut p = at + head[0] as usize;
        while p < end {
            let len = bytes[p] as usize;
            if len < 2 || p + len > end {
                return Err(format!("descriptor at byte {p}: length {len} overruns its configuration"));
            }
            let d = &bytes[p..p + len];
            match d[1] {
                DEVICE | CONFIGURATION => {
                    return Err(format!("a device or configuration descriptor inside configuration {config}"))
                }
                INTERFACE if len < 9 => return Err(format!("interface descriptor at byte {p}: length {len}")),
                INTERFACE => {
                    let alts = interfaces.entry((config, d[2])).or_default();
                    if !alts.contains(&(d[5], d[6], d[7])) {
                        alts.push((d[5], d[6], d[7]));
                    }
                }
                _ => {}
            }
            p += len;
        }
        at = end;
    }
    Ok(interfaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_id("1d6b:0002"), Ok((0x1d6b, Some(2))));
        assert_eq!(parse_id("0627:*"), Ok((0x0627, None)));
        for bad in ["1d6b", "1d6b:2", "xyzw:0001", "1d6b:0002:1", ":", "01d6b:0002"] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classes() {
        assert_eq!(parse_class("hid"), Ok(ClassPattern { cls: 3, subclass: 0, protocol: 0, mask: 1 }));
        assert_eq!(parse_class("02:06:*"), Ok(ClassPattern { cls: 2, subclass: 6, protocol: 0, mask: 3 }));
        assert_eq!(parse_class("0a"), Ok(ClassPattern { cls: 0x0a, subclass: 0, protocol: 0, mask: 1 }));
        assert!(parse_class("hdi").unwrap_err().contains("did you mean `hid`"));
        assert!(parse_class("2").is_err());
        assert!(parse_class("02:06").is_err());
        let keyboard = parse_class("03:01:01").unwrap();
        assert!(keyboard.matches((3, 1, 1)) && !keyboard.matches((3, 1, 2)));
    }

    #[test]
    fn ports_and_serials() {
        assert!(parse_port("1-1").is_ok() && parse_port("3-2.4.1").is_ok());
        for bad in ["usb1", "1-", "1-1:1.0", "a-1", "1-1..2", "1"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        assert!(parse_serial("").is_err() && parse_serial(&"x".repeat(256)).is_err());
    }

    fn net_adapter() -> DeviceIds {
        // QEMU's usb-net: CDC ECM (comm 02/06 + cdc-data 0a) in configuration 1, RNDIS in 2.
        let mut interfaces = BTreeMap::new();
        interfaces.insert((1, 0), vec![(2, 6, 0)]);
        interfaces.insert((1, 1), vec![(0x0a, 0, 0)]);
        interfaces.insert((2, 0), vec![(2, 2, 0xff)]);
        interfaces.insert((2, 1), vec![(0x0a, 0, 0)]);
        DeviceIds { vendor: 0x0525, product: 0xa4a2, serial: Some("1".into()), port: "1-3".into(), interfaces, malformed: None }
    }

    #[test]
    fn interfaces_are_allowed_by_class() {
        let only_comm = Rule { vendor: Some(0x0525), classes: vec![parse_class("comm").unwrap()], ..Default::default() };
        let d = decide(std::slice::from_ref(&only_comm), &net_adapter(), false);
        assert_eq!(d.reason, Reason::Rule(0));
        assert!(d.interface_allowed((1, 0)) && !d.interface_allowed((1, 1)));
        // Another device, the same class: not named.
        let mut other = net_adapter();
        other.vendor = 0x1234;
        assert_eq!(decide(&[only_comm], &other, false).reason, Reason::NoRule);
    }

    #[test]
    fn an_interface_needs_every_altsetting_allowed() {
        let mut d = net_adapter();
        d.interfaces.insert((1, 2), vec![(3, 1, 1), (8, 6, 0x50)]); // a keyboard that is also storage
        let hid = Rule { classes: vec![parse_class("hid").unwrap()], ..Default::default() };
        let decision = decide(&[hid], &d, false);
        assert!(!decision.interface_allowed((1, 2)));
        assert_eq!(decision.reason, Reason::NoRule);
    }

    #[test]
    fn keys_are_anded_rules_ored() {
        let d = net_adapter();
        let wrong_serial = Rule { vendor: Some(0x0525), serial: Some("2".into()), ..Default::default() };
        let wrong_port = Rule { port: Some("1-4".into()), ..Default::default() };
        let right = Rule { vendor: Some(0x0525), product: Some(0xa4a2), serial: Some("1".into()), port: Some("1-3".into()), ..Default::default() };
        assert_eq!(decide(&[wrong_serial.clone(), wrong_port.clone()], &d, false).reason, Reason::NoRule);
        let decision = decide(&[wrong_serial, wrong_port, right], &d, false);
        assert_eq!(decision.reason, Reason::Rule(2));
        assert!(decision.interface_allowed((2, 1)));
        assert_eq!(decide(&[], &d, true).reason, Reason::Present);
        assert!(decide(&[], &d, true).interface_allowed((9, 9)));
    }

    fn config(value: u8, body: &[&[u8]]) -> Vec<u8> {
        let total: usize = 9 + body.iter().map(|d| d.len()).sum::<usize>();
        let mut c = vec![9, 2, total as u8, (total >> 8) as u8, 1, value, 0, 0x80, 50];
        body.iter().for_each(|d| c.extend_from_slice(d));
        c
    }

    fn device_descriptor() -> Vec<u8> {
        let mut b = vec![18, 1];
        b.extend([0u8; 16]);
        b
    }

    #[test]
    fn descriptors() {
        let mut b = device_descriptor();
        // Interface 0: alt 0 hid (with an endpoint), alt 1 storage.
        b.extend(config(1, &[&[9, 4, 0, 0, 1, 3, 1, 1, 0], &[7, 5, 0x81, 3, 8, 0, 10], &[9, 4, 0, 1, 1, 8, 6, 0x50, 0]]));
        b.extend(config(2, &[&[9, 4, 0, 0, 0, 0xff, 0, 0, 0]]));
        let parsed = parse_descriptors(&b).unwrap();
        assert_eq!(parsed[&(1, 0)], vec![(3, 1, 1), (8, 6, 0x50)]);
        assert_eq!(parsed[&(2, 0)], vec![(0xff, 0, 0)]);
        assert!(parse_descriptors(&[0, 0, 0]).is_err());
    }

    /// A configuration descriptor inside a configuration: the kernel skips it and keeps
    /// the next altsetting under the configuration before; judging it under another would
    /// let a keyboard in under a storage rule. Refused, as every inconsistency.
    #[test]
    fn descriptors_the_kernel_reads_otherwise_are_refused() {
        let mut b = device_descriptor();
        b.extend(config(1, &[&[9, 4, 0, 1, 1, 8, 6, 0x50, 0], &[9, 2, 18, 0, 1, 9, 0, 0x80, 50], &[9, 4, 0, 0, 1, 3, 1, 1, 0]]));
        assert!(parse_descriptors(&b).unwrap_err().contains("inside configuration 1"));
        let mut truncated = device_descriptor();
        truncated.extend(&config(1, &[&[9, 4, 0, 0, 1, 3, 1, 1, 0]])[..12]);
        assert!(parse_descriptors(&truncated).is_err());
        let mut overrun = device_descriptor();
        overrun.extend(config(1, &[&[12, 4, 0, 0, 1, 3, 1, 1, 0]]));
        assert!(parse_descriptors(&overrun).is_err());
        let mut short_device = vec![12, 1];
        short_device.extend([0u8; 10]);
        short_device.extend(config(1, &[]));
        assert!(parse_descriptors(&short_device).is_err());
        // Judged: no class rule allows a device whose descriptors are refused; a rule
        // without class still does.
        let d = DeviceIds { malformed: Some("x".into()), ..Default::default() };
        let hid = Rule { classes: vec![parse_class("hid").unwrap()], ..Default::default() };
        assert_eq!(decide(std::slice::from_ref(&hid), &d, false).reason, Reason::NoRule);
        let any = Rule { vendor: Some(0), ..Default::default() };
        let decision = decide(&[hid, any], &d, false);
        assert_eq!(decision.reason, Reason::Rule(1));
        assert!(decision.configured_interface_allowed(&d, (1, 0), (3, 1, 1)));
    }

    /// The kernel's configured interface is checked against what was judged: an interface
    /// whose current class the descriptors did not show is refused.
    #[test]
    fn configured_interfaces_are_checked_against_the_judged_ones() {
        let d = net_adapter();
        let comm = Rule { classes: vec![parse_class("comm").unwrap()], ..Default::default() };
        let decision = decide(&[comm], &d, false);
        assert!(decision.configured_interface_allowed(&d, (1, 0), (2, 6, 0)));
        assert!(!decision.configured_interface_allowed(&d, (1, 0), (3, 1, 1)));
        assert!(!decision.configured_interface_allowed(&d, (1, 1), (0x0a, 0, 0)));
    }

    #[test]
    fn suggestions_read_back() {
        let r = Rule {
            vendor: Some(0x0525),
            product: Some(0xa4a2),
            serial: Some("a\"b".into()),
            port: Some("1-3".into()),
            classes: vec![parse_class("comm").unwrap(), parse_class("02:06:*").unwrap()],
            at: String::new(),
        };
        assert_eq!(r.to_toml(), r#"{ id = "0525:a4a2", serial = 'a"b', port = "1-3", class = ["comm", "02:06:*"] }"#);
    }
}
