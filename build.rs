//! Compiles each BPF source in bpf/ into a libbpf skeleton (CO-RE, include/vmlinux.h).
use std::{env, fs, path::Path, path::PathBuf, process::Command};

use libbpf_cargo::SkeletonBuilder;

/// One entry per protection (plus the functional probe): bpf/<name>.bpf.c -> <name>.skel.rs.
const PROGRAMS: &[&str] = &["probe", "kimglock", "bpfrestrict", "filelesslock", "kmodlock", "jail"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let keep_line_info = env::var_os("BPFLOCK_BPF_LINE_INFO").is_some_and(|v| v == "1");
    for name in PROGRAMS {
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

fn objcopy(args: &[&str]) {
    let status = Command::new("llvm-objcopy").args(args).status().expect("running llvm-objcopy (Debian: llvm)");
    assert!(status.success(), "llvm-objcopy {args:?} failed");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("OUT_DIR is UTF-8")
}
