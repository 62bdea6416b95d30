//! Any text through the policy parser: a panic, a hang (libFuzzer's -timeout) or an error
//! without its place is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(errors) = bpflock::policy::Policy::parse("fuzz", text) {
        let lines = text.split('\n').count();
        assert!(!errors.0.is_empty(), "refused with no error");
        for e in &errors.0 {
            assert!(e.line >= 1 && e.line <= lines && e.col >= 1, "an error without its place: {e:?}");
        }
    }
});
