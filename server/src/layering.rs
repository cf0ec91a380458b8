//! The shape of the crate, checked: every top-level module sits in one
//! layer, and a module may name (`crate::x`, in code or `use` lines) only
//! modules of its own layer or of layers below, never above, and never in a
//! cycle, even within a layer. The layers, top to bottom:
//!
//! 1. entry: `main`, `cli`, `admin_cli`, and `app`, which only wires;
//! 2. HTTP: `router`, `server`, `state` (what handlers share), `tls`,
//!    `middleware` (all of it: access log, host check, rate limit,
//!    authentication, time limit), `extract`, `api`, `web`, and `error`
//!    (`ApiError` and the one mapping of domain errors to HTTP);
//! 3. services: `registry`, `packages`, `auth`, `proxy`, `maintenance`;
//! 4. stores: `db`, `storage`;
//! 5. leaves: `config`, `names`, `digest`, `metrics`, `client_addr`,
//!    `client_rate`, `fs_mode`, `audit_limit`, `pattern`.
//!
//! So services hold the handles they use (never the HTTP state), return
//! their own error types, and only `error` turns those into responses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const LAYERS: &[(&str, &[&str])] = &[
    ("entry", &["main", "cli", "admin_cli", "app"]),
    (
        "HTTP",
        &[
            "router",
            "server",
            "state",
            "tls",
            "middleware",
            "extract",
            "api",
            "web",
            "error",
        ],
    ),
    (
        "services",
        &["registry", "packages", "auth", "proxy", "maintenance"],
    ),
    ("stores", &["db", "storage"]),
    (
        "leaves",
        &[
            "config",
            "names",
            "digest",
            "metrics",
            "client_addr",
            "client_rate",
            "fs_mode",
            "audit_limit",
            "pattern",
        ],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top-level modules each top-level module names, from the sources.
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    let mut files = Vec::new();
    collect(src, &mut files);
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        let first = relative
            .components()
            .next()
            .expect("a path")
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source file");
        let named = edges.entry(module.clone()).or_insert_with(BTreeSet::new);
        for target in crate_paths(&text) {
            if target != module {
                named.insert(target);
            }
        }
    }
    edges
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The first segment of every `crate::` path in code (comments left out),
/// including each item of `crate::{a, b::{c, d}}`, over line breaks.
fn crate_paths(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let macro_path = rest[..at].ends_with('$');
        rest = &rest[at + "crate::".len()..];
        if macro_path {
            continue;
        }
        match rest.strip_prefix('{') {
            Some(group) => found.extend(group_items(group).iter().filter_map(|i| ident(i))),
            None => found.extend(ident(rest)),
        }
    }
    found
}

/// The items of a `{...}` group (text after its `{`), split at its own
/// commas, not those of nested groups.
fn group_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

fn ident(text: &str) -> Option<String> {
    let name: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// A cycle among `edges`, if there is one, as the modules on it.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, bool>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(true) => return None,
            Some(false) => {
                let start = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        state.insert(node.to_string(), false);
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(node.to_string(), true);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn modules_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    let mut unplaced: Vec<&String> = edges.keys().filter(|m| layer_of(m).is_none()).collect();
    unplaced.retain(|m| m.as_str() != "layering");
    assert!(
        unplaced.is_empty(),
        "put these modules in a layer of server/src/layering.rs: {unplaced:?}"
    );

    let mut upward = BTreeSet::new();
    let mut allowed = BTreeMap::new();
    for (from, targets) in &edges {
        for to in targets {
            let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
                continue;
            };
            if b < a {
                upward.insert((from.as_str(), to.as_str()));
            } else {
                allowed
                    .entry(from.clone())
                    .or_insert_with(BTreeSet::new)
                    .insert(to.clone());
            }
        }
    }
    let upward: Vec<String> = upward
        .iter()
        .map(|(from, to)| {
            format!(
                "{from} ({}) names {to} ({})",
                LAYERS[layer_of(from).unwrap()].0,
                LAYERS[layer_of(to).unwrap()].0
            )
        })
        .collect();
    assert!(
        upward.is_empty(),
        "imports that go up a layer: {upward:?}; move the shared item down, or pass it in"
    );
    if let Some(cycle) = cycle(&allowed) {
        panic!("top-level modules in a cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_scan_sees_grouped_and_plain_paths_but_not_comments() {
    let text = "use crate::{auth::Caller, db, names::{a, b}};\n\
                use crate::{\n    digest::Digest,\n    storage,\n};\n\
                // crate::web in a comment\n\
                let x = crate::metrics::global(); // crate::tls\n\
                macro_rules! m { () => { $crate::x } }\n";
    assert_eq!(
        crate_paths(text),
        ["auth", "db", "names", "digest", "storage", "metrics"]
    );
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    edges.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
    edges.get_mut("c").unwrap().clear();
    assert!(cycle(&edges).is_none());
}
