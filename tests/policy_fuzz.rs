//! The policy parser against random and mutated input, built from the valid examples
//! (policy/*.toml, tests/policies/*.toml): never a panic, never a hang, and every refusal
//! located (FILE:LINE:COL inside the text) and, through the binary, exit 2.
//! Deterministic (fixed seeds) and bounded: a few thousand inputs, seconds in all.
//! Longer, coverage-guided runs: `make fuzz` (fuzz/).

use std::{
    fs,
    io::Write,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bpflock::policy::Policy;

/// xorshift64*: no dependency, the same inputs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces of TOML and of bpflock's vocabulary a mutation inserts.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "\n",
    "#",
    ",",
    "{",
    "}",
    ".",
    "\\",
    "\\u0000",
    "0x",
    "1e9",
    "-1",
    "9223372036854775808",
    "true",
    "inf",
    "nan",
    "1979-05-27T07:32:00Z",
    "é",
    "\u{feff}",
    "\t",
    "profile",
    "allow",
    "block",
    "deny",
    "baseline",
    "restricted",
    "events",
    "rate_limit",
    "protections",
    "none",
    "[kimglock]\n",
    "[kmodlock]\n",
    "[filelesslock]\n",
    "[bpfrestrict]\n",
    "[jail]\n",
    "[bpflock]\n",
    "[roles.x]\n",
    "[roles.\"a b\"]\n",
    "[[enroll]]\n",
    "role = \"x\"\n",
    "exec = \"/bin/sh\"\n",
    "cgroup = \"/sys/fs/cgroup/x\"\n",
    "xattr = true\n",
    "narrows = [\"x\"]\n",
    "file.deny = [\"/\"]\n",
    "file.allow = [\"/**\"]\n",
    "file.read_only = [\"/a/../b\"]\n",
    "net.connect = [\"tcp/1-65535@::/0\"]\n",
    "net.bind = [\"udp/0\"]\n",
    "net.families = [\"inet\"]\n",
    "capabilities = [\"sys_admin\"]\n",
    "exec = { allow = [\"/usr/bin/*\"] }\n",
    "mode = \"complain\"\n",
    "/**",
    "tcp/",
    "@10.0.0.0/8",
];

fn char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(rng: &mut Rng, text: &str, other: &str) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(4) {
        let at = char_boundary(&s, rng.below(s.len() + 1));
        match rng.below(8) {
            0 => {
                let end = char_boundary(&s, at + rng.below(24));
                s.replace_range(at..end, "");
            }
            1 | 2 => s.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
            3 => {
                let lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let line = lines[rng.below(lines.len())].to_string();
                    s.insert_str(at, &format!("{line}\n"));
                }
            }
            4 => s.truncate(at),
            5 => {
                let end = char_boundary(&s, at + 1);
                let c = char::from_u32(rng.below(0x80) as u32).unwrap_or('x');
                s.replace_range(at..end, &c.to_string());
            }
            6 => {
                let from = char_boundary(other, rng.below(other.len() + 1));
                let to = char_boundary(other, from + rng.below(80));
                s.insert_str(at, &other[from..to]);
            }
            _ => {
                let mut lines: Vec<&str> = s.lines().collect();
                if lines.len() > 1 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                }
                s = lines.join("\n");
            }
        }
    }
    s
}

fn examples() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["policy", "tests/policies"] {
        let mut paths: Vec<_> = fs::read_dir(root.join(dir)).unwrap().flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
            out.push(fs::read_to_string(p).unwrap());
        }
    }
    assert!(out.len() > 10, "examples not found");
    out
}

/// Parses `text`; panics with the input where the parser panics, hangs or mislocates.
fn parse_checked(text: &str) -> bool {
    let started = Instant::now();
    let result = std::panic::catch_unwind(|| Policy::parse("fuzz", text));
    let elapsed = started.elapsed();
    let save = |why: &str| -> ! {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/policy-fuzz-failure.toml");
        let _ = fs::write(&path, text);
        panic!("{why}; input saved in {}", path.display());
    };
    if elapsed > Duration::from_secs(2) {
        save(&format!("parsing took {elapsed:?}"));
    }
    let Ok(result) = result else { save("the parser panicked") };
    let Err(errors) = result else { return true };
    let lines = text.split('\n').count();
    if errors.0.is_empty() {
        save("refused with no error");
    }
    for e in &errors.0 {
        if e.origin != "fuzz" || e.line == 0 || e.line > lines || e.col == 0 || e.message.is_empty() {
            save(&format!("an error without its place: {e:?}"));
        }
    }
    false
}

#[test]
fn mutated_examples_never_panic_and_every_refusal_is_located() {
    let examples = examples();
    let mut rng = Rng(0x5eed_b9f1_0c4b_0001);
    let (mut accepted, mut refused) = (0, 0);
    let started = Instant::now();
    for round in 0..20000 {
        let base = &examples[round % examples.len()];
        let other = &examples[rng.below(examples.len())];
        let text = mutate(&mut rng, base, other);
        match parse_checked(&text) {
            true => accepted += 1,
            false => refused += 1,
        }
    }
    eprintln!("mutated: {accepted} accepted, {refused} refused in {:?}", started.elapsed());
    assert!(refused > 5000 && accepted > 500, "mutations too mild or too wild: {accepted} accepted, {refused} refused");
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    for _ in 0..2000 {
        let text: String = (0..rng.below(40)).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        parse_checked(&text);
    }
}

/// Through the binary: each refusal exits 2 with `<stdin>:LINE:COL: error:` first.
#[test]
fn refusals_exit_2_with_a_position() {
    let examples = examples();
    let mut rng = Rng(0xb1a5_7ed0_0000_0002);
    let mut checked = 0;
    while checked < 40 {
        let base = &examples[rng.below(examples.len())];
        let text = mutate(&mut rng, base, &examples[0]);
        if Policy::parse("fuzz", &text).is_ok() {
            continue;
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_bpflock"))
            .args(["check", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or("");
        let located = first.strip_prefix("<stdin>:").and_then(|rest| {
            let mut parts = rest.splitn(3, ':');
            let (line, col) = (parts.next()?.parse::<usize>().ok()?, parts.next()?.parse::<usize>().ok()?);
            (line > 0 && col > 0 && parts.next()?.starts_with(" error: ")).then_some(())
        });
        assert!(located.is_some(), "{text:?}: not located: {stderr}");
        checked += 1;
    }
}
