//! The crate's floors, checked: the top-level modules of `src/` form no
//! import cycle, no source file grows past 900 lines (unit-test files
//! aside), and OAuth grant requests are built in one client module.
//!
//! The rules themselves are written down in CONTRIBUTING.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The largest source file we accept, in lines (unit-test files aside).
const MAX_LINES: usize = 900;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read src/") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Unit-test files: `tests.rs`, `*_tests.rs`.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// The source without line comments and without `#[cfg(test)]` items
/// (a `mod … { … }` block is skipped to its closing brace).
fn code_only(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("#[cfg(test)]") {
            let mut j = i + 1;
            if lines.get(j).is_some_and(|l| l.contains('{')) {
                let mut depth = 0i32;
                while j < lines.len() {
                    depth += lines[j].matches('{').count() as i32 - lines[j].matches('}').count() as i32;
                    if depth <= 0 {
                        break;
                    }
                    j += 1;
                }
            }
            i = j + 1;
            continue;
        }
        let line = lines[i];
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
        i += 1;
    }
    out
}

/// The top-level module a file of `src/` belongs to (`None` for the crate
/// root and the binary, which sit above every room).
fn top_module(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    if first == "lib.rs" || first == "bin" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_string())
}

/// The names `text` reaches through `crate::NAME` paths, including
/// `crate::{a, b::c}` groups.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

/// The module graph: for each top-level module, the others it names.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(&src());
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let Some(from) = top_module(file) else { continue };
        let text = code_only(&fs::read_to_string(file).expect("read source"));
        for to in crate_paths(&text) {
            if to != from && modules.contains(&to) {
                graph.get_mut(&from).expect("known module").insert(to);
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in &s.graph[v] {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let graph = module_graph();
    let found = cycles(&graph);
    let listing: Vec<String> = graph
        .iter()
        .map(|(from, to)| format!("{from} -> {}", to.iter().cloned().collect::<Vec<_>>().join(" ")))
        .collect();
    assert!(
        found.is_empty(),
        "import cycles {found:?} in\n{}",
        listing.join("\n")
    );
    // The floors sit where CONTRIBUTING.md says: the lowest rooms reach
    // nothing above them.
    assert!(
        graph["alg"].is_empty(),
        "alg must stay the lowest room: {:?}",
        graph["alg"]
    );
    for low in ["alg", "error", "crypto", "cert", "http", "tsp", "revocation"] {
        for high in ["csc", "auth", "profile", "sandbox", "source", "provider"] {
            if let Some(edges) = graph.get(low) {
                assert!(!edges.contains(high), "{low} reaches up into {high}");
            }
        }
    }
    // RFC 3161 (`tsp`) sits below the CMS room that puts its tokens into
    // CAdES-T signatures (and the PDF room above that).
    assert!(
        !graph["tsp"].contains("cms"),
        "tsp must stay below cms: {:?}",
        graph["tsp"]
    );
    assert!(graph["cms"].contains("tsp"), "cms uses tsp for CAdES-T");
    // PDF signatures (`pdf`) sit above cms: nothing below reaches up into them.
    for low in [
        "alg",
        "error",
        "crypto",
        "cert",
        "http",
        "tsp",
        "revocation",
        "cms",
        "xml",
    ] {
        if let Some(edges) = graph.get(low) {
            assert!(!edges.contains("pdf"), "{low} reaches up into pdf");
        }
    }
    assert!(graph["pdf"].contains("cms"), "pdf signs through cms");
}

#[test]
fn the_checker_finds_a_cycle_when_there_is_one() {
    // The checker itself, on a made-up graph: a test that cannot fail
    // proves nothing.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        graph.entry(from.into()).or_default().insert(to.into());
        graph.entry(to.into()).or_default();
    }
    assert_eq!(
        cycles(&graph),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
    assert_eq!(
        crate_paths("use crate::{alg::X, error};\nfn f() { crate::http::get(); }"),
        ["alg", "error", "http"].iter().map(|s| s.to_string()).collect()
    );
    let stripped = code_only("use crate::a; // crate::b\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\n");
    assert!(
        stripped.contains("crate::a") && !stripped.contains("crate::b") && !stripped.contains("crate::c")
    );
}

#[test]
fn no_source_file_is_over_the_limit() {
    let long: Vec<String> = rust_files(&src())
        .into_iter()
        .filter(|f| !is_test_file(f))
        .filter_map(|f| {
            let lines = fs::read_to_string(&f).expect("read source").lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "source files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn oauth_grant_requests_are_built_in_one_module() {
    let builders: Vec<String> = rust_files(&src())
        .into_iter()
        .filter(|f| !is_test_file(f) && top_module(f).as_deref() != Some("sandbox"))
        .filter(|f| code_only(&fs::read_to_string(f).expect("read source")).contains("grant_type"))
        .map(|f| f.strip_prefix(src()).expect("under src").display().to_string())
        .collect();
    assert!(
        builders.iter().all(|f| f == "auth/oauth2.rs"),
        "grant_type outside the one OAuth client: {builders:?}"
    );
}
