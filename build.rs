//! Lays out the release binary's code so that what runs at start-up and on
//! the hot request paths sits together (see `link/README.md`).
//!
//! The kernel maps an executable's code in blocks of up to 64 KiB around
//! each page touched; left in the linker's default order, the ~3 MB of
//! functions a server runs at start-up are spread over nearly all of the
//! 12 MB `.text`. `link/function-order.txt` (written by
//! `bench/function-order.sh`) lists those functions first for LLD. Names
//! missing from the build (another compiler or dependency version) are
//! skipped, so a stale list costs memory, never correctness.
//!
//! Only where the link is known to go through LLD: rustc's own (the default
//! of rustup's toolchains on x86_64-unknown-linux-gnu since 1.90), with no
//! other linker configured. GNU ld refuses the option.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-gnu";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let order = manifest.join("link").join("function-order.txt");
    // The list, or while there is none the directory (cargo reruns a script
    // whose watched path is missing on every build, and one watching the
    // directory whenever its README changes).
    let watched = if order.exists() { order.clone() } else { manifest.join("link") };
    println!("cargo:rerun-if-changed={}", watched.display());
    println!("cargo:rerun-if-env-changed=REALMGATE_NO_FUNCTION_ORDER");
    if env::var("PROFILE").as_deref() != Ok("release")
        || env::var_os("REALMGATE_NO_FUNCTION_ORDER").is_some()
        || !order.exists()
        || !links_with_rustc_lld()
    {
        return;
    }
    println!("cargo:rustc-link-arg-bin=realmgate=-Xlinker");
    println!("cargo:rustc-link-arg-bin=realmgate=--symbol-ordering-file={}", order.display());
    println!("cargo:rustc-link-arg-bin=realmgate=-Xlinker");
    println!("cargo:rustc-link-arg-bin=realmgate=--no-warn-symbol-ordering");
}

/// Whether this build links with the LLD that ships with rustc.
fn links_with_rustc_lld() -> bool {
    if env::var("TARGET").as_deref() != Ok(TARGET) || env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let chooses_linker = ["linker", "link-self-contained", "fuse-ld", "link-arg"];
    if flags.split('\x1f').any(|flag| chooses_linker.iter().any(|word| flag.contains(word))) {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot).join("lib/rustlib").join(TARGET).join("bin/gcc-ld/ld.lld").exists()
}
