//! References: every `$ref` resolves, lands on the kind of object expected there, and no
//! chain of references (with `allOf` and `not`, which add no structure) loops
//! back to where it started.
//!
//! Local references (`#/…`) resolve in the document; relative file references
//! (`common.yaml#/components/schemas/Error`) resolve against the linted file's directory,
//! each file read and parsed once, and only their targets' existence is checked. Remote
//! references (`https://…`) are not fetched: a warning says so. Recursion through
//! `properties`, `items` or `additionalProperties` is structure, and is not a cycle.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::model::{component_kind, Shape};
use super::tree::{clip, fragment_pointer, Node};
use super::walk::{diagnostic, RefSite, Walker};
use super::{Diagnostic, Severity};

/// Longest chain of references followed before giving up (the cycle rule reports loops).
const MAX_HOPS: usize = 64;

/// Follows local references from `node` to the object they name. `None` when a reference
/// is not local, does not resolve, or loops; the pointer of the target when one was followed.
pub fn follow<'a>(root: &'a Node, node: &'a Node) -> Option<(&'a Node, Option<String>)> {
    let mut current = node;
    let mut target = None;
    for _ in 0..MAX_HOPS {
        let Some(reference) = current.reference() else {
            return Some((current, target));
        };
        let pointer = fragment_pointer(reference.strip_prefix('#')?)?;
        current = root.at_pointer(&pointer)?;
        target = Some(pointer);
    }
    None
}

/// Checks every reference the walk recorded (walking targets the walk could not reach),
/// then looks for cycles.
pub fn check(w: &mut Walker<'_>, source: &str) {
    let mut files = Files::new(source);
    let mut resolved: Vec<(usize, String)> = Vec::new();
    let mut walked: HashSet<String> = HashSet::new();
    let mut index = 0;
    // Walking an unreached target can record more references: loop until none are new.
    while index < w.refs.len() {
        let site = &w.refs[index];
        let target = site.target;
        match target
            .split_once('#')
            .map_or((target, None), |(file, fragment)| (file, Some(fragment)))
        {
            ("", None) => {
                let site = &w.refs[index];
                let found = diagnostic(
                    Severity::Error,
                    "ref-unresolved",
                    site.pointer.clone(),
                    site.at,
                    "`$ref` is empty".into(),
                );
                w.found.push(found);
            }
            ("", Some(fragment)) => {
                if let Some(pointer) = local(w, index, fragment) {
                    if pointer.split('/').any(|segment| segment.starts_with("x-"))
                        && walked.insert(pointer.clone())
                    {
                        // Under an extension the walk did not look: check the target as the
                        // kind this reference expects.
                        let expected = w.refs[index].expected;
                        w.walk_pointer(&pointer, Shape::RefOr(expected));
                    }
                    resolved.push((index, pointer));
                }
            }
            (file, _) if is_remote(file) => {
                let site = &w.refs[index];
                let message = format!(
                    "remote reference `{}` is not fetched; its target is not checked",
                    clip(target)
                );
                let found = diagnostic(
                    Severity::Warning,
                    "ref-remote",
                    site.pointer.clone(),
                    site.at,
                    message,
                );
                w.found.push(found);
            }
            (file, fragment) => {
                if let Some(problem) = files.check(file, fragment.unwrap_or("")) {
                    let site = &w.refs[index];
                    let message = format!("`{}` does not resolve: {problem}", clip(target));
                    let found = diagnostic(
                        Severity::Error,
                        "ref-unresolved",
                        site.pointer.clone(),
                        site.at,
                        message,
                    );
                    w.found.push(found);
                }
            }
        }
        index += 1;
    }
    let found = cycles(&w.refs, &resolved, &w.edges);
    w.found.extend(found);
}

/// Resolves a local reference, reporting when it does not resolve or lands on another kind
/// of component; the target's pointer when it resolves.
fn local(w: &mut Walker<'_>, index: usize, fragment: &str) -> Option<String> {
    let site = &w.refs[index];
    let Some(pointer) = fragment_pointer(fragment) else {
        let message = format!(
            "`{}` is not a JSON pointer reference (`#/components/…`)",
            clip(site.target)
        );
        let found = diagnostic(
            Severity::Error,
            "ref-unresolved",
            site.pointer.clone(),
            site.at,
            message,
        );
        w.found.push(found);
        return None;
    };
    if w.root.at_pointer(&pointer).is_none() {
        let message = format!(
            "`{}` does not resolve: {}",
            clip(site.target),
            missing(w.root, &pointer)
        );
        let found = diagnostic(
            Severity::Error,
            "ref-unresolved",
            site.pointer.clone(),
            site.at,
            message,
        );
        w.found.push(found);
        return None;
    }
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    if let ["components", section, _name] = segments.as_slice() {
        if let Some(kind) = component_kind(section) {
            if !std::ptr::eq(kind, site.expected) {
                let message = format!(
                    "`{}` points into `components.{section}`, but {} is expected here",
                    clip(site.target),
                    site.expected.name
                );
                let found = diagnostic(
                    Severity::Error,
                    "ref-type-mismatch",
                    site.pointer.clone(),
                    site.at,
                    message,
                );
                w.found.push(found);
            }
        }
    }
    Some(pointer)
}

/// Says which step of a pointer is missing: "`/components/schemas` has no `Pet`".
fn missing(root: &Node, pointer: &str) -> String {
    let mut prefix = String::new();
    for raw in pointer.split('/').skip(1) {
        let next = format!("{prefix}/{raw}");
        if root.at_pointer(&next).is_none() {
            let parent = if prefix.is_empty() {
                "the document"
            } else {
                &prefix
            };
            return format!(
                "`{}` has no `{}`",
                clip(parent),
                clip(&super::tree::unescape(raw))
            );
        }
        prefix = next;
    }
    "no such node".into()
}

fn is_remote(file: &str) -> bool {
    file.starts_with("//") || file.contains("://") || file.starts_with("urn:")
}

/// Referenced files, read and parsed at most once each.
struct Files {
    directory: PathBuf,
    parsed: HashMap<PathBuf, Result<Node, String>>,
}

impl Files {
    fn new(source: &str) -> Files {
        Files {
            directory: Path::new(source)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            parsed: HashMap::new(),
        }
    }

    /// `None` when `fragment` resolves in `file`; otherwise what is wrong.
    fn check(&mut self, file: &str, fragment: &str) -> Option<String> {
        let path = self.directory.join(file);
        let document = self.parsed.entry(path.clone()).or_insert_with(|| {
            let bytes = std::fs::read(&path).map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => format!("there is no file `{}`", clip(file)),
                kind => format!("cannot read `{}`: {kind}", clip(file)),
            })?;
            super::parse(&bytes, file).map_err(|error| {
                format!(
                    "`{}` cannot be parsed: {}",
                    clip(file),
                    clip(&error.message)
                )
            })
        });
        let root = match document {
            Ok(root) => root,
            Err(problem) => return Some(problem.clone()),
        };
        let Some(pointer) = fragment_pointer(fragment) else {
            return Some("the fragment is not a JSON pointer".into());
        };
        if root.at_pointer(&pointer).is_none() {
            return Some(format!("in `{}`, {}", clip(file), missing(root, &pointer)));
        }
        None
    }
}

/// Cycles among references and structure-less subschema edges: one error per cycle, at its
/// first reference in the document.
fn cycles(
    refs: &[RefSite<'_>],
    resolved: &[(usize, String)],
    edges: &[(String, String)],
) -> Vec<Diagnostic> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    // For each node, its edges: (target node, the reference site when the edge is a `$ref`).
    let mut adjacency: Vec<Vec<(usize, Option<usize>)>> = Vec::new();
    let mut intern = |name, adjacency: &mut Vec<Vec<(usize, Option<usize>)>>| {
        *ids.entry(name).or_insert_with(|| {
            adjacency.push(Vec::new());
            adjacency.len() - 1
        })
    };
    for (site, target) in resolved {
        let from = intern(refs[*site].holder.as_str(), &mut adjacency);
        let to = intern(target.as_str(), &mut adjacency);
        adjacency[from].push((to, Some(*site)));
    }
    for (from, to) in edges {
        let from = intern(from.as_str(), &mut adjacency);
        let to = intern(to.as_str(), &mut adjacency);
        adjacency[from].push((to, None));
    }
    let mut found = Vec::new();
    for component in strongly_connected(&adjacency) {
        let members: HashSet<usize> = component.iter().copied().collect();
        let mut sites: Vec<usize> = component
            .iter()
            .flat_map(|&node| adjacency[node].iter())
            .filter(|(to, _)| members.contains(to))
            .filter_map(|(_, site)| *site)
            .collect();
        if sites.is_empty() {
            continue;
        }
        sites.sort_by_key(|&site| (refs[site].at.line, refs[site].at.column));
        sites.dedup();
        let first = &refs[sites[0]];
        let mut chain: Vec<String> = sites
            .iter()
            .take(4)
            .map(|&site| format!("`{}`", clip(&refs[site].holder)))
            .collect();
        if sites.len() > 4 {
            chain.push(format!("{} more", sites.len() - 4));
        }
        let message = format!(
            "reference cycle with no structure in between ({} → back): nothing can satisfy \
             it (recursion must go through `properties` or `items`)",
            chain.join(" → ")
        );
        found.push(diagnostic(
            Severity::Error,
            "ref-cycle",
            first.pointer.clone(),
            first.at,
            message,
        ));
    }
    found
}

/// Tarjan's strongly connected components, iteratively (the graph can be deep).
fn strongly_connected(adjacency: &[Vec<(usize, Option<usize>)>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let count = adjacency.len();
    let mut order = vec![UNSEEN; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut components = Vec::new();
    for start in 0..count {
        if order[start] != UNSEEN {
            continue;
        }
        order[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on_stack[start] = true;
        let mut work: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(top) = work.len().checked_sub(1) {
            let (node, edge) = work[top];
            if let Some(&(to, _)) = adjacency[node].get(edge) {
                work[top].1 += 1;
                if order[to] == UNSEEN {
                    order[to] = next;
                    low[to] = next;
                    next += 1;
                    stack.push(to);
                    on_stack[to] = true;
                    work.push((to, 0));
                } else if on_stack[to] {
                    low[node] = low[node].min(order[to]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == order[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_find_loops_and_self_loops() {
        // 0 → 1 → 2 → 0, 3 → 3, 4 → 0.
        let graph = vec![
            vec![(1, None)],
            vec![(2, None)],
            vec![(0, None)],
            vec![(3, None)],
            vec![(0, None)],
        ];
        let mut found: Vec<Vec<usize>> = strongly_connected(&graph)
            .into_iter()
            .map(|mut component| {
                component.sort_unstable();
                component
            })
            .collect();
        found.sort();
        assert_eq!(found, vec![vec![0, 1, 2], vec![3], vec![4]]);
    }

    #[test]
    fn remote_references() {
        assert!(is_remote("https://example.com/a.yaml"));
        assert!(is_remote("//example.com/a.yaml"));
        assert!(!is_remote("common.yaml"));
        assert!(!is_remote("../shared/common.yaml"));
    }
}
