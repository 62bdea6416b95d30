//! The protections, and the one list of them: the only place that knows them all.
//!
//! Adding one: `bpf/<p>.bpf.c` (+ `bpf/<p>.h` for what Rust shares), `src/protections/<p>.rs`
//! implementing `Protection`, one line here, `docs/<p>.md`, its guest cases
//! (docs/architecture.md).

mod bpfrestrict;
mod filelesslock;
mod fslock;
mod jail;
mod kimglock;
mod kmodlock;
mod nslock;
mod usblock;

use crate::protection::Protection;

/// Every protection, in setup order. The order is a security property: bpfrestrict is last,
/// so that the others are loaded before bpf() is restricted (under `restricted`, not even
/// bpflock could load them after it).
pub static ALL: &[&dyn Protection] = &[
    &kimglock::Kimglock,
    &kmodlock::Kmodlock,
    &filelesslock::Filelesslock,
    &fslock::Fslock,
    &nslock::Nslock,
    &usblock::Usblock,
    &jail::Jail,
    &bpfrestrict::Bpfrestrict,
];

/// The protection named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Protection> {
    ALL.iter().copied().find(|p| p.name() == name)
}

/// The protection numbered `id` in events and counters.
pub fn by_id(id: u32) -> Option<&'static dyn Protection> {
    ALL.iter().copied().find(|p| p.id() == id)
}

/// "kimglock, kmodlock, ...", for messages.
pub fn names() -> String {
    ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
}

/// The commands protections add: `bpflock run` (the jail's), `bpflock usb-authorize` and
/// `bpflock usb list` (usblock's).
pub use jail::run;
pub use usblock::{list as usb_list, usb_authorize};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi;

    /// Each protection has its number in bpf/events.h, and each number its protection (or the seal).
    #[test]
    fn ids_come_from_the_bpf_header() {
        let mut ids: Vec<u32> = ALL.iter().map(|p| p.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len(), "two protections share an id");
        // `seal` reports as one, and is not in the list (src/seal.rs).
        for (name, id) in abi::BPFLOCK_PROTECTION.iter().filter(|(n, _)| *n != "max" && *n != crate::seal::DIR) {
            assert_eq!(by_id(*id).map(|p| p.name()), Some(*name), "PROT_{} has no protection", name.to_uppercase());
        }
    }

    /// Each operation a list accepts has its bit in the protection's bpf/<p>.h enum <p>_op.
    #[test]
    fn operation_bits_come_from_the_bpf_headers() {
        for p in ALL {
            let table = abi::ENUMS.iter().find(|(name, _)| *name == format!("{}_op", p.name()));
            for op in p.operations() {
                let (_, values) = table.unwrap_or_else(|| panic!("{}: no enum {}_op", p.name(), p.name()));
                assert_eq!(
                    abi::value_of(values, op.name),
                    Some(op.bit),
                    "{}: {} in bpf/{}.h",
                    p.name(),
                    op.name,
                    p.name()
                );
            }
        }
    }

    /// The setup order's one rule: bpfrestrict, which may forbid bpf() to bpflock, is last.
    #[test]
    fn restricting_bpf_comes_last() {
        let last = ALL.iter().position(|p| p.restricts_bpf()).expect("a protection restricts bpf()");
        assert_eq!(last, ALL.len() - 1);
    }
}
