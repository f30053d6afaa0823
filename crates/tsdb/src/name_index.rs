//! The metric tree behind `find` and `delete`: a trie keyed by dotted node, so a glob is
//! answered by walking it level by level, looking literal nodes up directly and scanning only
//! the children of the current level for wildcard nodes (anchors.md §1.9: the filesystem walk
//! graphite does here is its slowest part). Tagged series (`name;k=v`) are not in the tree;
//! the catalog keeps them aside.
//!
//! This module maps paths to series ids; it does not own the names' storage or the ids.

use std::collections::BTreeMap;

use lookout_core::glob::NodeMatcher;
use lookout_core::{FindNode, Glob};

/// No series ends at this node.
const NO_SERIES: u32 = u32::MAX;

const ROOT: u32 = 0;

#[derive(Debug, Default)]
struct Node {
    /// Children by node name; a BTreeMap so listing is already sorted and a literal lookup
    /// is logarithmic even under nodes with millions of children.
    children: BTreeMap<Box<str>, u32>,
    /// The series stored at exactly this path, or [`NO_SERIES`].
    series: u32,
}

/// The trie. Nodes live in an arena; freed slots are reused.
#[derive(Debug)]
pub struct NameTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
}

impl Default for NameTree {
    fn default() -> Self {
        NameTree {
            nodes: vec![Node {
                children: BTreeMap::new(),
                series: NO_SERIES,
            }],
            free: Vec::new(),
        }
    }
}

impl NameTree {
    /// Stores `id` at `path` (a validated dotted path), replacing any id there.
    pub fn insert(&mut self, path: &str, id: u32) {
        let mut at = ROOT;
        for part in path.split('.') {
            at = match self.nodes[at as usize].children.get(part) {
                Some(&c) => c,
                None => {
                    let c = self.alloc();
                    self.nodes[at as usize].children.insert(part.into(), c);
                    c
                }
            };
        }
        self.nodes[at as usize].series = id;
    }

    /// Removes the series at `path` if it is `id`, pruning nodes left empty.
    pub fn remove(&mut self, path: &str, id: u32) {
        let mut trail: Vec<(u32, &str)> = Vec::new();
        let mut at = ROOT;
        for part in path.split('.') {
            match self.nodes[at as usize].children.get(part) {
                Some(&c) => {
                    trail.push((at, part));
                    at = c;
                }
                None => return,
            }
        }
        if self.nodes[at as usize].series != id {
            return;
        }
        self.nodes[at as usize].series = NO_SERIES;
        while let Some((parent, part)) = trail.pop() {
            let node = &self.nodes[at as usize];
            if node.series != NO_SERIES || !node.children.is_empty() {
                break;
            }
            self.nodes[parent as usize].children.remove(part);
            self.free.push(at);
            at = parent;
        }
    }

    fn alloc(&mut self) -> u32 {
        let node = Node {
            children: BTreeMap::new(),
            series: NO_SERIES,
        };
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = node;
            i
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    /// Nodes matching `pattern` at its depth, with their paths (unsorted).
    fn matches(&self, pattern: &Glob) -> Vec<(String, u32)> {
        let mut frontier: Vec<(String, u32)> = vec![(String::new(), ROOT)];
        for m in pattern.nodes() {
            let mut next = Vec::new();
            for (path, node) in &frontier {
                let children = &self.nodes[*node as usize].children;
                let join = |part: &str| {
                    if path.is_empty() {
                        part.to_string()
                    } else {
                        format!("{path}.{part}")
                    }
                };
                match m {
                    NodeMatcher::Literal(lit) => {
                        if let Some(&c) = children.get(lit.as_str()) {
                            next.push((join(lit), c));
                        }
                    }
                    _ => {
                        for (part, &c) in children {
                            if m.matches(part) {
                                next.push((join(part), c));
                            }
                        }
                    }
                }
            }
            if next.is_empty() {
                return next;
            }
            frontier = next;
        }
        frontier
    }

    /// `find`: the matching nodes, sorted by path.
    pub fn find(&self, pattern: &Glob) -> Vec<FindNode> {
        let mut out: Vec<FindNode> = self
            .matches(pattern)
            .into_iter()
            .map(|(path, n)| {
                let node = &self.nodes[n as usize];
                FindNode {
                    path,
                    is_leaf: node.series != NO_SERIES,
                    has_children: !node.children.is_empty(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Ids of the series whose path matches `pattern` exactly.
    pub fn series_matching(&self, pattern: &Glob) -> Vec<u32> {
        self.matches(pattern)
            .into_iter()
            .map(|(_, n)| self.nodes[n as usize].series)
            .filter(|&s| s != NO_SERIES)
            .collect()
    }

    /// Nodes in use.
    #[cfg(test)]
    fn node_count(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    /// Approximate heap bytes: the arena plus each child entry (key string and map slot).
    pub fn heap_bytes(&self) -> usize {
        let entries: usize = self
            .nodes
            .iter()
            .map(|n| {
                n.children
                    .keys()
                    .map(|k| k.len().next_multiple_of(16) + 32)
                    .sum::<usize>()
            })
            .sum();
        self.nodes.capacity() * std::mem::size_of::<Node>() + entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(paths: &[&str]) -> NameTree {
        let mut t = NameTree::default();
        for (i, p) in paths.iter().enumerate() {
            t.insert(p, i as u32);
        }
        t
    }

    #[track_caller]
    fn check(t: &NameTree, pattern: &str, expected: &[(&str, bool, bool)]) {
        let got: Vec<(String, bool, bool)> = t
            .find(&Glob::new(pattern).unwrap())
            .into_iter()
            .map(|n| (n.path, n.is_leaf, n.has_children))
            .collect();
        let want: Vec<(String, bool, bool)> = expected
            .iter()
            .map(|(p, l, c)| (p.to_string(), *l, *c))
            .collect();
        assert_eq!(got, want, "{pattern}");
    }

    #[test]
    fn find_walks_levels_with_literal_and_wildcard_nodes() {
        let t = tree(&[
            "a.b.c",
            "a.b.d",
            "a.x",
            "a.b",
            "web01.cpu",
            "web02.cpu",
            "web10.mem",
        ]);
        check(&t, "a.*", &[("a.b", true, true), ("a.x", true, false)]);
        check(
            &t,
            "a.b.{c,d}",
            &[("a.b.c", true, false), ("a.b.d", true, false)],
        );
        check(
            &t,
            "web0?.cpu",
            &[("web01.cpu", true, false), ("web02.cpu", true, false)],
        );
        check(
            &t,
            "*",
            &[
                ("a", false, true),
                ("web01", false, true),
                ("web02", false, true),
                ("web10", false, true),
            ],
        );
        check(&t, "a.b.c.d", &[]);
        check(&t, "zzz.*", &[]);
        check(&t, "web[0-9]*.mem", &[("web10.mem", true, false)]);
        let mut ids = t.series_matching(&Glob::new("a.b.*").unwrap());
        ids.sort();
        assert_eq!(ids, vec![0, 1]);
    }

    #[test]
    fn remove_prunes_empty_branches_and_reuses_nodes() {
        let mut t = tree(&["a.b.c", "a.b.d", "a.x"]);
        let before = t.node_count();
        t.remove("a.b.c", 0);
        check(&t, "a.b.*", &[("a.b.d", true, false)]);
        t.remove("a.b.d", 99);
        check(&t, "a.b.*", &[("a.b.d", true, false)]);
        t.remove("a.b.d", 1);
        check(&t, "a.*", &[("a.x", true, false)]);
        assert_eq!(t.node_count(), before - 3);
        t.insert("a.y.z", 7);
        assert_eq!(t.node_count(), before - 1);
        check(&t, "a.*", &[("a.x", true, false), ("a.y", false, true)]);
        t.remove("nope.x", 1);
    }

    #[test]
    fn a_level_with_many_children_is_looked_up_not_scanned() {
        let mut t = NameTree::default();
        for i in 0..50_000u32 {
            t.insert(&format!("hosts.h{i}.cpu"), i);
        }
        check(&t, "hosts.h31337.cpu", &[("hosts.h31337.cpu", true, false)]);
        assert_eq!(t.find(&Glob::new("hosts.*.cpu").unwrap()).len(), 50_000);
    }
}
