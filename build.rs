//! Lays out the release binary's code so that what runs at start-up and on
//! the hot request paths sits together (see `link/README.md`).
//!
//! The kernel maps an executable's code in 64 KiB blocks around each page
//! touched, and left in the linker's default order the ~3 MB of functions a
//! server runs at start-up are spread over ~160 such blocks: 10 MiB of code
//! resident at rest. `link/function-order.txt` (written by
//! `bench/function-order.sh`) lists those functions first for LLD, which
//! rustc uses by default on x86_64-unknown-linux-gnu. Names missing from
//! the build (another compiler or dependency version) are skipped, so a
//! stale list costs memory, never correctness.

use std::env;
use std::path::Path;

fn main() {
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("link")
        .join("function-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=REALMGATE_NO_FUNCTION_ORDER");
    let lld_by_default = env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu");
    if !lld_by_default || env::var_os("REALMGATE_NO_FUNCTION_ORDER").is_some() || !order.exists() {
        return;
    }
    println!("cargo:rustc-link-arg-bin=realmgate=-Wl,--symbol-ordering-file={}", order.display());
    println!("cargo:rustc-link-arg-bin=realmgate=-Wl,--no-warn-symbol-ordering");
}
