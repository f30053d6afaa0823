//! Embeds the web UI: walks `ui/dist/` and writes `$OUT_DIR/ui_assets.rs`, a table of
//! `(path, bytes, content type, ETag)` that `src/http/ui.rs` includes, so the binary serves its
//! UI with no files read at run time and works offline. A missing or empty `ui/dist/` gives an
//! empty table: the build still succeeds and the UI integration tests fail, naming the cause.
//! It does not build the UI (there is no UI build step: `ui/dist/` is committed as served).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = root.join("ui").join("dist");
    // `ui` too, so creating `ui/dist` later triggers a rebuild; a directory is scanned whole.
    println!("cargo:rerun-if-changed=ui/dist");
    println!("cargo:rerun-if-changed=ui");
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Embedded UI files: (path under ui/dist, bytes, Content-Type, quoted ETag).\n\
         pub static ASSETS: &[(&str, &[u8], &str, &str)] = &[\n",
    );
    for (rel, abs) in &files {
        let bytes = match std::fs::read(abs) {
            Ok(b) => b,
            Err(e) => panic!("reading {}: {e}", abs.display()),
        };
        let _ = writeln!(
            out,
            "    ({rel:?}, include_bytes!({abs:?}), {ctype:?}, \"\\\"{etag:016x}\\\"\"),",
            abs = abs.display().to_string(),
            ctype = content_type(rel),
            etag = fnv1a(&bytes),
        );
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(e) = std::fs::write(out_dir.join("ui_assets.rs"), out) {
        panic!("writing ui_assets.rs: {e}");
    }
}

/// Every regular file below `dir`, as (path relative to `base` with `/` separators, path).
fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(base, &path, files);
        } else if kind.is_file() {
            let Ok(rel) = path.strip_prefix(base) else {
                continue;
            };
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((rel.join("/"), path));
        }
    }
}

/// The Content-Type a browser needs for each kind of file the UI ships; with
/// `X-Content-Type-Options: nosniff` a wrong type means a script or style that does not load.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// FNV-1a, 64 bits: enough to tell two builds of a file apart for an ETag, with no dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
