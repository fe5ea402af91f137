//! The server's modules import one way: routes → hub/commands → engine/telemetry/store/export, nothing below
//! imports from above, and no set of modules imports each other in a cycle. Read from the source: every
//! `crate::…`, `super::…` and `use` path outside `#[cfg(test)]` code is an edge between modules.
#![allow(clippy::unwrap_used)] // Tests fail loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, top to bottom: a module may use its own layer's modules and those of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["main", "cli", "testing"],
    &["commands"],
    &["startup"],
    &["routes", "state", "auth", "banner", "site", "logging"],
    &["hub", "import"],
    &["session", "policy"],
    &["engine", "telemetry", "store", "export", "mock"],
    &["clock"],
];

/// Crates the engine must never see (STYLE.md 7, DESIGN.md).
const ENGINE_FORBIDDEN: &[&str] = &["axum", "leptos", "sqlx", "app"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `routes/runs.rs` → [routes, runs]; `mod.rs`/`lib.rs` name their folder.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The source without its `#[cfg(test)]` tail and without comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting with `crate::` or `super::`, resolved against `module`: the top-level module it names, or
/// for paths inside one top-level module the second-level one.
fn references(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':') {
                continue;
            }
            let rest: String =
                code[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
            let parts: Vec<&str> = rest.split("::").filter(|p| !p.is_empty()).collect();
            let mut base: Vec<String> = Vec::new();
            let mut rest_parts = parts.as_slice();
            if rest_parts.first() == Some(&"crate") {
                rest_parts = &rest_parts[1..];
            } else {
                base = module.to_vec();
                while rest_parts.first() == Some(&"super") {
                    base.pop();
                    rest_parts = &rest_parts[1..];
                }
            }
            base.extend(rest_parts.iter().map(|s| s.to_string()));
            if !base.is_empty() {
                out.push(base);
            }
        }
    }
    out
}

fn layer(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn graph(depth: usize, modules: &BTreeSet<Vec<String>>, files: &[(Vec<String>, String)]) -> Graph {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in files {
        for target in references(module, code) {
            // The longest prefix that is a module of the crate.
            let Some(found) = (1..=target.len()).rev().map(|k| target[..k].to_vec()).find(|p| modules.contains(p))
            else {
                continue;
            };
            let (a, b) = (
                module.iter().take(depth).cloned().collect::<Vec<_>>(),
                found.into_iter().take(depth).collect::<Vec<_>>(),
            );
            if !a.is_empty() && !b.is_empty() && a != b {
                edges.entry(a.join("/")).or_default().insert(b.join("/"));
            }
        }
    }
    Graph { edges }
}

/// The modules on a cycle, if any (depth-first search).
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(v: &str, g: &Graph, stack: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == v) {
            return Some(stack[i..].to_vec());
        }
        if done.contains(v) {
            return None;
        }
        stack.push(v.to_owned());
        for w in g.edges.get(v).into_iter().flatten() {
            if let Some(c) = visit(w, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(v.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    g.edges.keys().find_map(|v| visit(v, g, &mut Vec::new(), &mut done))
}

/// Every module path, and each module's path with its code.
type Sources = (BTreeSet<Vec<String>>, Vec<(Vec<String>, String)>);

fn load() -> Sources {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    let files: Vec<(Vec<String>, String)> =
        paths.iter().map(|p| (module_of(p), code(&std::fs::read_to_string(p).unwrap()))).collect();
    let modules = files.iter().map(|(m, _)| m.clone()).collect();
    (modules, files)
}

#[test]
fn modules_import_downwards_only() {
    let (modules, files) = load();
    let g = graph(1, &modules, &files);
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        for to in tos {
            match (layer(from), layer(to)) {
                (Some(a), Some(b)) if a > b => wrong.push(format!("{from} → {to}")),
                (None, _) => wrong.push(format!("{from} has no layer in LAYERS")),
                (_, None) => wrong.push(format!("{to} has no layer in LAYERS")),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering: {wrong:?}");
}

#[test]
fn no_module_cycles() {
    let (modules, files) = load();
    for depth in [1, 2] {
        let g = graph(depth, &modules, &files);
        assert_eq!(cycle(&g), None, "modules importing each other in a cycle (depth {depth})");
    }
}

#[test]
fn the_engine_imports_no_web_or_database_crate() {
    let (_, files) = load();
    for (module, code) in files.iter().filter(|(m, _)| m.first().map(String::as_str) == Some("engine")) {
        for name in ENGINE_FORBIDDEN {
            let crate_name = name.trim_end_matches("::");
            let hit = code.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(&format!("use {crate_name}")) || l.contains(&format!(" {crate_name}::"))
            });
            assert!(!hit, "engine/{} mentions {name}", module.join("/"));
        }
    }
}

#[test]
fn the_checker_sees_edges() {
    // A cycle and an upward import, on made-up modules: the checks above can fail.
    let modules: BTreeSet<Vec<String>> = [vec!["engine".to_string()], vec!["routes".to_string()]].into_iter().collect();
    let files = vec![
        (vec!["engine".to_string()], "use crate::routes::x;".to_string()),
        (vec!["routes".to_string()], "fn f() { crate::engine::run(); }".to_string()),
    ];
    let g = graph(1, &modules, &files);
    assert_eq!(g.edges["engine"], BTreeSet::from(["routes".to_string()]));
    assert!(cycle(&g).is_some());
    assert!(layer("engine") > layer("routes"));
}
