//! Where the dashboard's browser files (WebAssembly, JS, CSS, public/) are found at run time.
//!
//! They are not embedded in the binary; they live in a `site/` folder found beside it, so
//! `target/release/tokenscope` works from any directory and a copied `tokenscope` + `site/` works on a pod.

use std::path::{Path, PathBuf};

/// The file whose presence proves a folder is a built site.
pub const MARKER: &str = "pkg/tokenscope.js";

/// Picks the site root: the explicit one if given, else the first candidate that holds a built site.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let candidates = candidates(std::env::current_exe().ok().as_deref());
    candidates.iter().find(|c| c.join(MARKER).is_file()).cloned().ok_or_else(|| {
        let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
        format!(
            "the dashboard's browser files were not found (looked for {MARKER} in {}); build them with `make build` \
             or point --site-root / LEPTOS_SITE_ROOT at the site folder",
            tried.join(", ")
        )
    })
}

/// Places to look, in order: beside the binary, the build tree's `target/site`, then under the working directory.
pub fn candidates(exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        out.push(dir.join("site"));
        if let Some(up) = dir.parent() {
            out.push(up.join("site"));
        }
    }
    out.push(PathBuf::from("target/site"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beside_binary_comes_first_then_build_tree() {
        let c = candidates(Some(Path::new("/x/target/release/tokenscope")));
        assert_eq!(
            c,
            vec![
                PathBuf::from("/x/target/release/site"),
                PathBuf::from("/x/target/site"),
                PathBuf::from("target/site")
            ]
        );
    }

    #[test]
    fn explicit_root_wins() {
        assert_eq!(resolve(Some(Path::new("/srv/site"))).unwrap(), PathBuf::from("/srv/site"));
    }
}
