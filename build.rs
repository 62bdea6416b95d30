//! Compiles each BPF source in bpf/ into a libbpf skeleton (CO-RE, include/vmlinux.h).
use std::{env, path::PathBuf};

use libbpf_cargo::SkeletonBuilder;

/// One entry per protection (plus the functional probe): bpf/<name>.bpf.c -> <name>.skel.rs.
const PROGRAMS: &[&str] = &["probe", "kimglock", "bpfrestrict", "filelesslock", "kmodlock", "jail"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    for name in PROGRAMS {
        let src = format!("bpf/{name}.bpf.c");
        SkeletonBuilder::new()
            .source(&src)
            .clang_args(["-Iinclude", "-Ibpf", "-Wall", "-Werror"])
            .build_and_generate(out.join(format!("{name}.skel.rs")))
            .unwrap_or_else(|e| panic!("building {src}: {e:#}"));
        println!("cargo:rerun-if-changed={src}");
    }
    println!("cargo:rerun-if-changed=bpf");
    println!("cargo:rerun-if-changed=include/vmlinux.h");
}
