//! Compiles each BPF source in bpf/ into a libbpf skeleton (CO-RE, include/vmlinux.h), and
//! turns the headers shared with Rust (bpf/*.h) into Rust constants (src/abi.rs).
use std::{env, fmt::Write as _, fs, path::Path, path::PathBuf, process::Command};

use libbpf_cargo::SkeletonBuilder;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let keep_line_info = env::var_os("BPFLOCK_BPF_LINE_INFO").is_some_and(|v| v == "1");
    fs::write(out.join("abi.rs"), shared_names()).expect("writing abi.rs");
    // Every bpf/<name>.bpf.c becomes <name>.skel.rs: each protection's, and the probe's.
    let mut programs: Vec<String> = fs::read_dir("bpf")
        .expect("reading bpf/")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".bpf.c").map(str::to_string))
        .collect();
    programs.sort();
    for name in &programs {
        let src = format!("bpf/{name}.bpf.c");
        let (full, compact) = (out.join(format!("{name}.full.o")), out.join(format!("{name}.o")));
        SkeletonBuilder::new()
            .source(&src)
            .obj(&full)
            .clang_args(["-Iinclude", "-Ibpf", "-Wall", "-Werror"])
            .build()
            .unwrap_or_else(|e| panic!("building {src}: {e:#}"));
        let obj = if keep_line_info { full } else { compact_object(&full, &compact) };
        SkeletonBuilder::new()
            .obj(&obj)
            .generate(out.join(format!("{name}.skel.rs")))
            .unwrap_or_else(|e| panic!("generating the skeleton of {src}: {e:#}"));
        println!("cargo:rerun-if-changed={src}");
    }
    // Debian's libelf.a and libz.a are built against glibc; see src/musl_compat.c.
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        cc::Build::new()
            .file("src/musl_compat.c")
            .flag("-fno-tree-loop-distribute-patterns") // its memcpy must not call memcpy
            .link_lib_modifier("+whole-archive")
            .compile("musl_compat");
        // musl's x86_64 memcpy is slow on short copies (src/musl_compat.c); aarch64's is not.
        if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") {
            println!("cargo:rustc-link-arg=-Wl,--wrap=memcpy");
        }
        println!("cargo:rerun-if-changed=src/musl_compat.c");
    }
    println!("cargo:rerun-if-changed=bpf");
    println!("cargo:rerun-if-changed=include/vmlinux.h");
    println!("cargo:rerun-if-env-changed=BPFLOCK_BPF_LINE_INFO");
}

/// The object embedded in the binary, without what the kernel never uses: BTF line info
/// (source lines, read only to annotate verifier logs: a third of the jail object) and the
/// branch labels (LBB*) the BPF backend leaves in the symbol table. Relinking then drops the
/// source text from the BTF strings. Build with BPFLOCK_BPF_LINE_INFO=1 to keep them.
fn compact_object(full: &Path, compact: &Path) -> PathBuf {
    let (ext, stripped) = (full.with_extension("btf-ext"), full.with_extension("stripped.o"));
    // No programs, no .BTF.ext (bpf/shared.bpf.c): nothing to compact.
    let has_ext = Command::new("llvm-objdump")
        .args(["--section-headers", path(full)])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().any(|w| w == ".BTF.ext"));
    if !has_ext.expect("running llvm-objdump (Debian: llvm)") {
        return full.to_path_buf();
    }
    objcopy(&[&format!("--dump-section=.BTF.ext={}", ext.display()), path(full), path(&stripped)]);
    let data = fs::read(&ext).expect("reading the dumped .BTF.ext");
    fs::write(&ext, without_line_info(&data)).expect("writing .BTF.ext");
    objcopy(&[
        &format!("--update-section=.BTF.ext={}", ext.display()),
        "--wildcard",
        "--strip-symbol=LBB*",
        path(full),
        path(&stripped),
    ]);
    let mut linker = libbpf_rs::Linker::new(compact).expect("creating the BPF linker");
    linker.add_file(&stripped).and_then(|()| linker.link()).expect("relinking the compacted object");
    compact.to_path_buf()
}

/// .BTF.ext is a header (u16 magic, u8 version, u8 flags, u32 hdr_len, then offset and length
/// of func info, line info and CO-RE relocations, relative to the header's end) and those
/// three blocks. Keeps func info and CO-RE relocations; line info becomes empty.
fn without_line_info(ext: &[u8]) -> Vec<u8> {
    let u32_at = |at: usize| u32::from_le_bytes(ext[at..at + 4].try_into().unwrap()) as usize;
    let hdr_len = u32_at(4);
    assert!(ext[..2] == [0x9f, 0xeb] && hdr_len >= 32, ".BTF.ext: unexpected header");
    let block = |i: usize| &ext[hdr_len + u32_at(8 + 8 * i)..][..u32_at(12 + 8 * i)];
    let (funcs, relos) = (block(0), block(2));
    let mut out = ext[..hdr_len].to_vec();
    let fields = [0, funcs.len(), funcs.len(), 0, funcs.len(), relos.len()];
    for (i, value) in fields.into_iter().enumerate() {
        out[8 + 4 * i..12 + 4 * i].copy_from_slice(&(value as u32).to_le_bytes());
    }
    out.extend_from_slice(funcs);
    out.extend_from_slice(relos);
    out
}

/// The `#define NAME <number>` and the enums of the headers shared with Rust (bpf/*.h, not
/// the BPF-only bpf/*.bpf.h), as Rust: each constant by its C name, and each enum also as a
/// table of (name, value) with the enumerators' common prefix dropped and lower-cased
/// (`HOOK_FILE_OPEN` -> "file_open"), under the enum's name in capitals.
fn shared_names() -> String {
    let mut headers: Vec<PathBuf> = fs::read_dir("bpf")
        .expect("reading bpf/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".h") && !s.ends_with(".bpf.h")))
        .collect();
    headers.sort();
    let mut rust = String::from("// Generated by build.rs from bpf/*.h: do not edit.\n");
    let mut enums = Vec::new();
    for header in headers {
        let text = without_comments(&fs::read_to_string(&header).expect("reading a header"));
        let _ = writeln!(rust, "\n// {}", header.display());
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some("#define"), Some(name), Some(value), None) =
                (words.next(), words.next(), words.next(), words.next())
            {
                if let Some(v) = number(value) {
                    let ty = if v > u32::MAX as u64 { "u64" } else { "u32" };
                    let _ = writeln!(rust, "pub const {name}: {ty} = {v:#x};");
                }
            }
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("enum ") {
            rest = &rest[at + 5..];
            let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) else { break };
            let name = rest[..open].trim();
            if name.is_empty() || name.contains(|c: char| !(c.is_alphanumeric() || c == '_')) || close < open {
                continue;
            }
            let mut items = Vec::new();
            let mut next = Some(0u64);
            for item in rest[open + 1..close].split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let (key, value) = match item.split_once('=') {
                    Some((k, v)) => (k.trim(), number(v.trim())),
                    None => (item, next),
                };
                // A value computed from others is left out, and the implicit ones after it.
                if let Some(v) = value {
                    let _ = writeln!(rust, "pub const {key}: u32 = {v};");
                    items.push((key.to_string(), v));
                }
                next = value.map(|v| v + 1);
            }
            let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
            let prefix = common_prefix(&keys);
            let _ = writeln!(rust, "/// enum {name}: (name, value), the common prefix dropped, lower case.");
            let _ = write!(rust, "pub const {}: &[(&str, u32)] = &[", name.to_uppercase());
            for (key, value) in &items {
                let _ = write!(rust, "(\"{}\", {value}), ", key[prefix..].to_lowercase());
            }
            rust.push_str("];\n");
            enums.push(name.to_string());
            rest = &rest[close..];
        }
    }
    rust.push_str("\n/// Every enum's table, by its C name.\npub const ENUMS: &[(&str, &[(&str, u32)])] = &[");
    for name in enums {
        let _ = write!(rust, "(\"{name}\", {}), ", name.to_uppercase());
    }
    rust.push_str("];\n");
    rust
}

fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("/*") {
        out.push_str(&rest[..at]);
        rest = rest[at..].find("*/").map_or("", |end| &rest[at + end + 2..]);
    }
    out.push_str(rest);
    out.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The length of the enumerators' common prefix, up to and with its last '_'.
fn common_prefix(keys: &[&str]) -> usize {
    let Some(first) = keys.first() else { return 0 };
    let mut len = first.len();
    for key in keys {
        len = len.min(first.bytes().zip(key.bytes()).take_while(|(a, b)| a == b).count());
    }
    first[..len].rfind('_').map_or(0, |at| at + 1)
}

fn objcopy(args: &[&str]) {
    let status = Command::new("llvm-objcopy").args(args).status().expect("running llvm-objcopy (Debian: llvm)");
    assert!(status.success(), "llvm-objcopy {args:?} failed");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("OUT_DIR is UTF-8")
}
