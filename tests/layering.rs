//! The dependency direction of STYLE.md §2, enforced: every `crates/*/Cargo.toml` may depend
//! (normal dependencies) only on the lookout crates its row allows. Dev-dependencies may point
//! anywhere downward and are not checked here.

use std::collections::BTreeMap;
use std::path::Path;

/// crate -> lookout crates it may depend on.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("lookout-core", &[][..]),
        ("lookout-disk", &[][..]),
        ("lookout-proto", &["lookout-core"][..]),
        ("lookout-ingest", &["lookout-core", "lookout-proto"][..]),
        ("lookout-tsdb", &["lookout-core", "lookout-disk"][..]),
        ("lookout-logs", &["lookout-core", "lookout-disk"][..]),
        ("lookout-query", &["lookout-core"][..]),
        ("lookout-alert", &["lookout-core", "lookout-query"][..]),
    ])
}

#[test]
fn crates_depend_only_downward() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let allowed = allowed();
    let mut problems = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).expect("crates/ exists") {
        let manifest = entry.expect("dir entry").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let doc: toml::Table = toml::from_str(&text).expect("manifest parses");
        let name = doc["package"]["name"]
            .as_str()
            .expect("package.name")
            .to_string();
        seen += 1;
        let Some(ok) = allowed.get(name.as_str()) else {
            problems.push(format!(
                "{name}: not in the layering table (STYLE.md §2); add its row"
            ));
            continue;
        };
        let deps = doc
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        for dep in deps.keys().filter(|d| d.starts_with("lookout")) {
            if !ok.contains(&dep.as_str()) {
                problems.push(format!(
                    "{name} depends on {dep}, which STYLE.md §2 does not allow"
                ));
            }
        }
    }
    assert!(seen >= 1, "no crates found under {}", root.display());
    assert!(
        problems.is_empty(),
        "layering violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn async_runtime_stays_out_of_engines() {
    // Tokio is allowed only in ingest and the binary: engines and parsers stay synchronous.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    for entry in std::fs::read_dir(&root).expect("crates/ exists") {
        let manifest = entry.expect("dir entry").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let doc: toml::Table = toml::from_str(&text).expect("manifest parses");
        let name = doc["package"]["name"].as_str().expect("package.name");
        if name == "lookout-ingest" {
            continue;
        }
        let deps = doc
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        assert!(
            !deps.contains_key("tokio"),
            "{name} depends on tokio; only ingest and the binary may"
        );
    }
}
