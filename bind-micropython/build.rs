//! Generates the Rust view of MicroPython's headers and of `csrc/shim.h` with bindgen, from the
//! exact compiler flags of the firmware being built.
//!
//! Why from the port's flags: struct layouts depend on them. `mp_obj_t` is a pointer or a
//! `uint64_t` depending on `MICROPY_OBJ_REPR`, `mpconfigport.h` comes from `-I` of the port,
//! and `py/qstr.h` includes the build's `genhdr/qstrdefs.generated.h`. A binding generated with
//! other flags compiles fine and then reads the wrong offsets, so nothing generated is
//! committed and a missing flags file is a hard error.
//!
//! The flags file (written by `ports/micropython.mk` / `ports/micropython.cmake`, path in
//! `AWAITQ_MP_CFLAGS_FILE`): line 1 the directory the compiler runs in (relative `-I` paths
//! are resolved against it), line 2 the C compiler command, then one compiler argument per line.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=AWAITQ_MP_CFLAGS_FILE");
    println!("cargo:rerun-if-changed=csrc/shim.h");
    println!("cargo:rerun-if-changed=../ports/include/awaitq_aw.h");
    let flags_file = env::var("AWAITQ_MP_CFLAGS_FILE").unwrap_or_else(|_| {
        panic!(
            "AWAITQ_MP_CFLAGS_FILE is not set: this crate is built by a MicroPython firmware \
             build (USER_C_MODULES=... with ports/micropython.mk or ports/micropython.cmake), \
             which dumps the port's compiler flags for bindgen"
        )
    });
    println!("cargo:rerun-if-changed={flags_file}");
    let text = fs::read_to_string(&flags_file)
        .unwrap_or_else(|e| panic!("cannot read AWAITQ_MP_CFLAGS_FILE={flags_file}: {e}"));
    let mut lines = text.lines();
    let cwd = PathBuf::from(lines.next().expect("flags file: missing working directory"));
    let cc = lines
        .next()
        .expect("flags file: missing compiler")
        .to_string();
    let raw: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();

    let mut args = clang_args(&cwd, &raw);
    args.extend(cross_sysroot_args(&cc));
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    args.push(format!("-I{}", manifest.join("csrc").display()));
    args.push(format!("-I{}", manifest.join("../ports/include").display()));

    let bindings = bindgen::Builder::default()
        .header(manifest.join("csrc/shim.h").to_string_lossy())
        .clang_args(&args)
        .use_core()
        .ctypes_prefix("core::ffi")
        // Enums cross as plain integers: a C value outside a Rust enum would be UB.
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .allowlist_type("awaitq_mp_.*")
        .allowlist_type("mp_obj_t|mp_uint_t|mp_int_t|awaitq_aw_.*")
        .allowlist_var("AWAITQ_MP_.*|MP_STREAM_POLL_(RD|WR|ERR|HUP)")
        .allowlist_function("awaitq_mp_.*")
        .layout_tests(false)
        .generate_comments(false)
        .generate()
        .unwrap_or_else(|e| panic!("bindgen failed on csrc/shim.h with {flags_file}: {e}"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    bindings
        .write_to_file(out_dir.join("micropython.rs"))
        .expect("writing the bindings");

    // Native awaitables: the Rust half (feature `cont`) needs the C half (-DAWAITQ_MP_CONT=1),
    // whose functions it calls; the build passes both or neither (ports/micropython.mk).
    let c_cont = raw.contains(&"-DAWAITQ_MP_CONT=1");
    if env::var_os("CARGO_FEATURE_CONT").is_some() && !c_cont {
        panic!(
            "feature `cont` needs the C side compiled with -DAWAITQ_MP_CONT=1 \
             (AWAITQ_CONT=1 on the make command line; see ports/micropython.mk)"
        );
    }
    // How many Rust futures may be alive at once (their Wakers' static slots, src/cont/waker.rs).
    println!("cargo:rerun-if-env-changed=AWAITQ_MP_WAKE_SLOTS");
    let slots: usize = env::var("AWAITQ_MP_WAKE_SLOTS")
        .ok()
        .map(|v| {
            v.parse()
                .expect("AWAITQ_MP_WAKE_SLOTS: a number of slots (1..=255)")
        })
        .unwrap_or(64);
    assert!(
        (1..=255).contains(&slots),
        "AWAITQ_MP_WAKE_SLOTS must be 1..=255"
    );
    fs::write(
        out_dir.join("wake_slots.rs"),
        format!("/// Wake slots (AWAITQ_MP_WAKE_SLOTS at build time).\npub(crate) const WAKE_SLOTS: usize = {slots};\n"),
    )
    .expect("writing wake_slots.rs");
}

/// The compiler arguments that matter for declarations and layouts, made independent of the
/// working directory. Everything else (warnings, optimisation, code generation for gcc only)
/// is dropped: libclang rejects gcc-only flags and they do not change layouts.
fn clang_args(cwd: &Path, raw: &[&str]) -> Vec<String> {
    let abs = |p: &str| -> String {
        let p = Path::new(p);
        if p.is_absolute() {
            p.display().to_string()
        } else {
            cwd.join(p).display().to_string()
        }
    };
    let mut out = Vec::new();
    let mut it = raw.iter().copied();
    while let Some(f) = it.next() {
        match f {
            // Options whose value is the next argument.
            "-I" | "-isystem" | "-iquote" | "-include" | "-imacros" => {
                let v = it.next().expect("flag without its value");
                out.push(f.to_string());
                out.push(abs(v));
            }
            "-D" | "-U" => {
                out.push(format!("{f}{}", it.next().expect("flag without its value")));
            }
            _ if f.starts_with("-I") => out.push(format!("-I{}", abs(&f[2..]))),
            _ if f.starts_with("-isystem") => out.push(format!("-isystem{}", abs(&f[8..]))),
            _ if f.starts_with("-D") || f.starts_with("-U") || f.starts_with("-std=") => {
                out.push(f.to_string())
            }
            // Flags that change the ABI or the predefined macros of the target.
            "-m32" | "-m64" | "-mthumb" | "-marm" | "-funsigned-char" | "-fsigned-char"
            | "-fshort-enums" | "-fno-short-enums" | "-fshort-wchar" | "-fno-short-wchar" => {
                out.push(f.to_string())
            }
            _ if ["-mcpu=", "-mfloat-abi=", "-mfpu=", "-march=", "-mabi="]
                .iter()
                .any(|p| f.starts_with(p)) =>
            {
                out.push(f.to_string())
            }
            _ => {}
        }
    }
    out
}

/// For a cross build, the C library headers of the cross compiler (libclang has only its own
/// freestanding ones). bindgen already passes `--target` from cargo's TARGET.
fn cross_sysroot_args(cc: &str) -> Vec<String> {
    let (target, host) = (env::var("TARGET").unwrap(), env::var("HOST").unwrap());
    if target == host {
        return Vec::new();
    }
    let mut words = cc.split_whitespace();
    let Some(prog) = words.next() else {
        return Vec::new();
    };
    let sysroot = Command::new(prog)
        .args(words)
        .arg("-print-sysroot")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if sysroot.is_empty() {
        return Vec::new();
    }
    vec![
        format!("--sysroot={sysroot}"),
        format!("-isystem{sysroot}/include"),
    ]
}
