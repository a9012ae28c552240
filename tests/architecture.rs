//! The house keeps its floors: every file of `src/` and `actors/src/`
//! imports only from its own floor or below, as the layer table of
//! `docs/ARCHITECTURE.md` says, and no files import each other round a
//! circle. The table is read from the document itself (one truth); every
//! `use` and every path written in the code (`crate::…`, `super::…`,
//! `triage_actors::…`, `triage_ground::…`) is an import. A file the table
//! does not place fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One row of the layer table: a floor and the paths on it.
#[derive(Debug)]
struct Floor {
    number: u32,
    name: String,
    paths: Vec<String>,
}

/// The layer table of docs/ARCHITECTURE.md ("## Layers").
fn floors() -> Vec<Floor> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/ARCHITECTURE.md"))
        .unwrap_or_else(|e| panic!("docs/ARCHITECTURE.md: {e}"));
    let section = doc
        .split("\n## Layers")
        .nth(1)
        .unwrap_or_else(|| panic!("docs/ARCHITECTURE.md has no \"## Layers\" section"));
    let mut out = Vec::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(number) = cells.first().and_then(|c| c.parse().ok()) else {
            continue; // the header and its rule
        };
        let paths = cells
            .get(2)
            .map(|c| {
                c.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(|p| p.trim_end_matches('/').to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.push(Floor {
            number,
            name: cells.get(1).map(|s| s.to_string()).unwrap_or_default(),
            paths,
        });
    }
    assert!(!out.is_empty(), "the layer table is empty");
    out
}

/// Every `.rs` file under `dir`, relative to the repository.
fn sources(dir: &str) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(ROOT).join(dir), &mut files);
    let mut out: Vec<String> = files
        .iter()
        .filter_map(|p| p.strip_prefix(ROOT).ok())
        .map(|p| p.to_string_lossy().trim_start_matches('/').to_string())
        .collect();
    out.sort();
    out
}

/// The floor of a file: the longest path of the table that holds it.
fn floor_of<'a>(file: &str, floors: &'a [Floor]) -> Option<&'a Floor> {
    floors
        .iter()
        .flat_map(|f| f.paths.iter().map(move |p| (f, p)))
        .filter(|(_, p)| file == p.as_str() || file.starts_with(&format!("{p}/")))
        .max_by_key(|(_, p)| p.len())
        .map(|(f, _)| f)
}

/// The text with comments, string and char literals blanked (a path in a
/// doc comment is no import). `#[serde(with = "…")]` strings are kept:
/// they name a module.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            let literal: String = b[start..i.min(b.len())].iter().collect();
            // `#[serde(with = "crate::…")]` and its kin name a module.
            let before: String = out
                .chars()
                .rev()
                .take(24)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let named = before.trim_end().trim_end_matches('=').trim_end();
            if before.trim_end().ends_with('=')
                && ["with", "serialize_with", "deserialize_with"]
                    .iter()
                    .any(|k| named.ends_with(k))
                && (literal.contains("crate::") || literal.contains("triage_"))
            {
                out.push_str(literal.trim_matches('"'));
            } else {
                out.push_str("\"\"");
            }
        } else if c == '\'' && next.is_some_and(|n| n != '\\') && b.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\u{..}'
            let mut j = i + 2;
            while j < b.len() && b[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The code without its `#[cfg(test)]` modules: a unit test's `super`
/// is the file itself, and tests are not a floor of the house.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(open) = after.find('{') else {
            rest = "";
            break;
        };
        // Only a module's block; an attribute on anything else stays.
        if !after[..open].contains("mod ") {
            out.push_str("#[cfg(test)]");
            rest = &after["#[cfg(test)]".len()..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (j, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or(tree).trim().to_string()];
    };
    let prefix = tree[..open].trim().trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                prefix.to_string()
            } else if prefix.is_empty() {
                p
            } else {
                format!("{prefix}::{p}")
            }
        })
        .collect()
}

/// The modules a file declares (`mod x;`, `pub mod x;`): paths that start
/// with one of them name that child.
fn children(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let t = line.trim();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix("mod ") {
            if let Some(name) = rest.strip_suffix(';') {
                out.push(name.trim().to_string());
            }
        }
    }
    out
}

/// Every path the code names from our crates: use trees and written paths.
fn references(code: &str) -> Vec<String> {
    let kids = children(code);
    let mut out = Vec::new();
    // `use …;` statements, whole trees.
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        let after = &rest[i + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            rest = after;
            continue;
        }
        let end = after.find(';').unwrap_or(after.len());
        out.extend(expand(&after[..end]));
        rest = &after[end..];
    }
    // Written paths anywhere (`crate::x::y`, `super::z`, `child::w`).
    let chars: Vec<char> = code.chars().collect();
    let mut starts: Vec<String> = ["crate::", "super::", "triage_actors::", "triage_ground::"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    starts.extend(kids.iter().map(|k| format!("{k}::")));
    let mut i = 0;
    while i < chars.len() {
        let at: String = chars[i..(i + 40).min(chars.len())].iter().collect();
        let boundary = i == 0
            || !(chars[i - 1].is_alphanumeric()
                || chars[i - 1] == '_'
                || chars[i - 1] == ':'
                || chars[i - 1] == '.');
        if boundary && starts.iter().any(|s| at.starts_with(s)) {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
            {
                j += 1;
            }
            out.push(
                chars[i..j]
                    .iter()
                    .collect::<String>()
                    .trim_end_matches(':')
                    .to_string(),
            );
            i = j;
        } else {
            i += 1;
        }
    }
    out.into_iter()
        .filter_map(|p| {
            let first = p.split("::").next().unwrap_or_default().to_string();
            if kids.contains(&first) {
                // A child named from its parent: relative to this module.
                Some(format!("self::{p}"))
            } else if p.starts_with("crate")
                || p.starts_with("super")
                || p.starts_with("self::")
                || p.starts_with("triage_actors")
                || p.starts_with("triage_ground")
            {
                Some(p)
            } else {
                None
            }
        })
        .collect()
}

/// The module path (segments after the crate) of a file of a crate rooted
/// at `root` (`src`, `actors/src`).
fn module_of(file: &str, root: &str) -> Vec<String> {
    let rel = file.strip_prefix(&format!("{root}/")).unwrap_or(file);
    let rel = rel.trim_end_matches(".rs");
    let mut segs: Vec<String> = rel.split('/').map(str::to_string).collect();
    if segs
        .last()
        .is_some_and(|s| s == "mod" || s == "lib" || s == "main")
    {
        segs.pop();
    }
    segs
}

/// The file a module path names: the longest prefix that is a file.
fn file_of(root: &str, segs: &[String]) -> Option<String> {
    for n in (0..=segs.len()).rev() {
        let base = if n == 0 {
            String::new()
        } else {
            format!("/{}", segs[..n].join("/"))
        };
        for candidate in [
            format!("{root}{base}.rs"),
            format!("{root}{base}/mod.rs"),
            format!("{root}/lib.rs"),
        ] {
            if n == 0 && !candidate.ends_with("lib.rs") {
                continue;
            }
            if n > 0 && candidate.ends_with("lib.rs") {
                continue;
            }
            if Path::new(ROOT).join(&candidate).is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Resolves a reference made in `file` to the file it names, within the
/// same crate; a reference to another of our crates names that crate.
fn resolve(file: &str, root: &str, reference: &str) -> Option<String> {
    let segs: Vec<&str> = reference.split("::").collect();
    match segs.first().copied() {
        Some("triage_actors") => Some("actors/src".into()),
        Some("triage_ground") => Some("ground/src".into()),
        Some("crate") => {
            let rest: Vec<String> = segs[1..].iter().map(|s| s.to_string()).collect();
            file_of(root, &rest)
        }
        Some("super") | Some("self") => {
            let mut module = module_of(file, root);
            // A file that is not mod.rs is itself a module: `self` is it,
            // `super` its parent.
            let mut i = 0;
            while segs.get(i) == Some(&"super") {
                module.pop();
                i += 1;
            }
            if segs.first() == Some(&"self") {
                i = 1;
            }
            let rest: Vec<String> = module
                .into_iter()
                .chain(segs[i..].iter().map(|s| s.to_string()))
                .collect();
            file_of(root, &rest)
        }
        _ => None,
    }
}

/// Every file's imports: file → the files it names (itself left out).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (root, dir) in [
        ("src", "src"),
        ("actors/src", "actors/src"),
        ("ground/src", "ground/src"),
    ] {
        for file in sources(dir) {
            let text = std::fs::read_to_string(Path::new(ROOT).join(&file)).unwrap_or_default();
            let mut named = BTreeSet::new();
            for r in references(&without_tests(&code_only(&text))) {
                if let Some(target) = resolve(&file, root, &r) {
                    if target != file && !target.ends_with("lib.rs") && !target.ends_with("main.rs")
                    {
                        named.insert(target);
                    }
                }
            }
            out.insert(file, named);
        }
    }
    out
}

/// The floor number of a file or of one of our crates.
fn floor_number(target: &str, floors: &[Floor]) -> Option<u32> {
    floor_of(target, floors).map(|f| f.number)
}

#[test]
fn every_file_imports_only_from_its_floor_or_below() {
    let floors = floors();
    let mut wrong = Vec::new();
    for (file, named) in imports() {
        if file.ends_with("/lib.rs") {
            continue; // the crate's face: it declares, it imports nothing
        }
        let Some(own) = floor_of(&file, &floors) else {
            wrong.push(format!("{file} stands on no floor of the layer table"));
            continue;
        };
        for target in named {
            match floor_number(&target, &floors) {
                Some(n) if n > own.number => wrong.push(format!(
                    "{file} (floor {} {}) imports {target} (floor {n}): an import upward",
                    own.number, own.name
                )),
                Some(_) => {}
                None => wrong.push(format!("{file} imports {target}, which stands on no floor")),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the layers are broken:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_files_import_each_other_round_a_circle() {
    let graph = imports();
    // Tarjan's strongly connected components.
    struct Tarjan<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        circles: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            let graph = self.graph;
            for w in graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !graph.contains_key(w) {
                    continue;
                }
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut circle = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    circle.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if circle.len() > 1 {
                    circle.sort();
                    self.circles.push(circle);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    let text: Vec<String> = t
        .circles
        .iter()
        .map(|c| {
            let inside: BTreeSet<&String> = c.iter().collect();
            let arrows: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| inside.contains(b))
                        .map(move |b| format!("  {a} -> {b}"))
                })
                .collect();
            format!("circle of {} files:\n{}", c.len(), arrows.join("\n"))
        })
        .collect();
    assert!(
        t.circles.is_empty(),
        "files import each other round a circle:\n{}",
        text.join("\n")
    );
}

#[test]
fn the_check_reads_imports_as_written() {
    let code = code_only("use crate::a::{b::C, d as e, f::{self, g}};\n// crate::not::this\nlet x = super::h::I; let s = \"crate::nor::this\";\n#[serde(with = \"crate::m::n\")]");
    let refs = references(&code);
    for want in [
        "crate::a::b::C",
        "crate::a::d",
        "crate::a::f",
        "crate::a::f::g",
        "super::h::I",
        "crate::m::n",
    ] {
        assert!(refs.iter().any(|r| r == want), "{want} in {refs:?}");
    }
    assert!(
        !refs.iter().any(|r| r.contains("not") || r.contains("nor")),
        "{refs:?}"
    );
}
