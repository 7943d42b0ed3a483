//! The module layout as a test: one pass flows one way, and nothing points up.
//!
//! Reads every `crate::<module>` path in the code under `src/` (comments aside) and
//! checks the rules of `README.md`'s code map: no import cycle between the top-level
//! modules; nothing below `pass/` imports `cli`, `daemon`, `control` or `pass`;
//! `sources`, `config` and the pure `core` never import `store`; `store` and `config`
//! import only `model`; `inbox` imports nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`lib.rs`/`main.rs`: none).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// module → the modules its code names through `crate::`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

/// A cycle through `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_modules_form_no_import_cycle() {
    let graph = dependencies();
    assert!(
        graph.contains_key("core") && graph.contains_key("pass"),
        "{graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}\n{graph:#?}", cycle.join(" → "));
    }
}

#[test]
fn nothing_points_up() {
    let graph = dependencies();
    let mut problems = Vec::new();
    let shells = ["cli", "daemon", "control", "pass"];
    let below_the_shell = [
        "sources", "auth", "mail", "inbox", "store", "core", "config", "model", "logging",
    ];
    for module in below_the_shell {
        for dep in graph.get(module).into_iter().flatten() {
            if shells.contains(&dep.as_str()) {
                problems.push(format!("{module} imports {dep}"));
            }
        }
    }
    for module in ["sources", "config", "core"] {
        if graph.get(module).is_some_and(|deps| deps.contains("store")) {
            problems.push(format!("{module} imports store"));
        }
    }
    for module in ["store", "config", "model"] {
        for dep in graph.get(module).into_iter().flatten() {
            if dep != "model" {
                problems.push(format!("{module} imports {dep} (only model is allowed)"));
            }
        }
    }
    // The IMAP client is a leaf: it speaks IMAP and knows nothing of tete's types yet.
    for dep in graph.get("inbox").into_iter().flatten() {
        problems.push(format!(
            "inbox imports {dep} (it imports nothing from the crate)"
        ));
    }
    assert!(problems.is_empty(), "{}\n{graph:#?}", problems.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    let acyclic: BTreeMap<String, BTreeSet<String>> =
        [("a".to_string(), BTreeSet::from(["b".to_string()]))].into();
    assert_eq!(find_cycle(&acyclic), None);
}
