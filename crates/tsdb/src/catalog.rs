//! The series catalog: every live series' id, canonical name and schema, the schema table, the
//! metric tree of untagged names and the list of tagged ones, plus what changed since the last
//! series index file was written (so a flush can persist exactly that before the WAL holding it
//! is truncated).
//!
//! Ids are dense `u32`s handed out in creation order and never reused: a deleted series' id stays
//! dead, so data of a deleted series left in blocks can never resurface under a new series of the
//! same name (which gets a fresh id). The catalog is pure memory; `engine` writes its changes to
//! the WAL and `series_file` persists it.

use std::collections::{BTreeSet, HashMap};

use std::sync::Arc;

use lookout_core::{canonical_series_name, Glob};

use crate::name_index::NameTree;
use crate::schema::Schema;

/// A live series.
#[derive(Debug, Clone)]
pub struct SeriesInfo {
    /// Canonical name.
    pub name: Arc<str>,
    /// Schema id.
    pub schema: u32,
}

/// Changes not yet in a series index file.
#[derive(Debug, Default, Clone)]
pub struct Pending {
    /// Schema ids defined since the last index file.
    pub schemas: Vec<u32>,
    /// Series ids created since.
    pub series: Vec<u32>,
    /// Series ids deleted since.
    pub deletes: Vec<u32>,
}

impl Pending {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty() && self.series.is_empty() && self.deletes.is_empty()
    }
}

/// A change replayed from the WAL, see [`Catalog::note_replayed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// A schema definition.
    Schema(u32),
    /// A series definition.
    Series(u32),
    /// A deletion.
    Delete(u32),
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Catalog {
    by_name: HashMap<Arc<str>, u32>,
    /// By id; `None` for deleted ids (and ids whose definition was lost).
    series: Vec<Option<SeriesInfo>>,
    schemas: Vec<Arc<Schema>>,
    tree: NameTree,
    tagged: BTreeSet<u32>,
    pending: Pending,
    live: usize,
}

/// Why a name cannot become a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidName;

impl Catalog {
    /// The id and schema id of the live series `name`.
    #[inline]
    pub fn lookup(&self, name: &str) -> Option<(u32, u32)> {
        let id = *self.by_name.get(name)?;
        let info = self.series.get(id as usize)?.as_ref()?;
        Some((id, info.schema))
    }

    /// The live series with this id.
    pub fn series(&self, id: u32) -> Option<&SeriesInfo> {
        self.series.get(id as usize)?.as_ref()
    }

    /// Whether `id` is a live series.
    pub fn is_live(&self, id: u32) -> bool {
        self.series(id).is_some()
    }

    /// A schema by id.
    pub fn schema(&self, id: u32) -> Option<&Arc<Schema>> {
        self.schemas.get(id as usize)
    }

    /// Every schema, by id.
    pub fn schemas(&self) -> &[Arc<Schema>] {
        &self.schemas
    }

    /// Number of live series.
    pub fn live(&self) -> usize {
        self.live
    }

    /// One past the largest id ever handed out.
    pub fn next_id(&self) -> u32 {
        self.series.len() as u32
    }

    /// The id `schema` has, if it is in the table already.
    pub fn find_schema(&self, schema: &Schema) -> Option<u32> {
        self.schemas
            .iter()
            .position(|s| **s == *schema)
            .map(|i| i as u32)
    }

    /// Adds a schema with the next id (the caller logged it) and returns the id.
    pub fn add_schema(&mut self, schema: Schema) -> u32 {
        let id = self.schemas.len() as u32;
        self.schemas.push(Arc::new(schema));
        self.pending.schemas.push(id);
        id
    }

    /// Defines schema `id` as read from disk or the WAL. A repeated definition is ignored;
    /// ids must arrive in order (a gap means a lost definition: `false`).
    pub fn define_schema(&mut self, id: u32, schema: Schema) -> bool {
        match (id as usize).cmp(&self.schemas.len()) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => {
                self.schemas.push(Arc::new(schema));
                true
            }
            std::cmp::Ordering::Greater => false,
        }
    }

    /// The canonical form of a name offered for a new series.
    pub fn canonical(name: &str) -> Result<std::borrow::Cow<'_, str>, InvalidName> {
        canonical_series_name(name).map_err(|_| InvalidName)
    }

    /// Adds a new live series under the next id (the caller logged its definition) and returns
    /// the id. `name` must be canonical and not live.
    pub fn create(&mut self, name: &str, schema: u32) -> u32 {
        let id = self.series.len() as u32;
        self.insert(id, Arc::from(name), schema);
        self.pending.series.push(id);
        id
    }

    /// Defines series `id` as read from disk or the WAL. Definitions arrive in id order (ids are
    /// handed out and logged under one lock), so an id below `next_id` that is not live was
    /// deleted, and deletion is final: the definition is ignored. A repeated definition is a
    /// no-op. Returns false if the record is inconsistent (unknown schema, or another name
    /// under a live id).
    pub fn define(&mut self, id: u32, name: &str, schema: u32) -> bool {
        if schema as usize >= self.schemas.len() {
            return false;
        }
        match self.series.get(id as usize) {
            Some(Some(info)) => &*info.name == name,
            Some(None) => true,
            None => {
                self.insert(id, Arc::from(name), schema);
                true
            }
        }
    }

    /// Makes sure ids below `next` are never handed out again.
    pub fn reserve_ids(&mut self, next: u32) {
        if next > 0 {
            self.grow(next - 1);
        }
    }

    fn grow(&mut self, id: u32) {
        if self.series.len() <= id as usize {
            self.series.resize(id as usize + 1, None);
        }
    }

    fn insert(&mut self, id: u32, name: Arc<str>, schema: u32) {
        self.grow(id);
        // A name is live under one id only: an older id of the same name is retired.
        if let Some(&old) = self.by_name.get(&*name) {
            if old != id {
                self.remove(old);
            }
        }
        if name.contains(';') {
            self.tagged.insert(id);
        } else {
            self.tree.insert(&name, id);
        }
        self.by_name.insert(name.clone(), id);
        self.series[id as usize] = Some(SeriesInfo { name, schema });
        self.live += 1;
    }

    /// Deletes a live series (the caller logged it). Returns whether it was live.
    pub fn delete(&mut self, id: u32) -> bool {
        let was = self.remove(id);
        if was {
            self.pending.deletes.push(id);
        }
        was
    }

    /// Applies a deletion read from disk or the WAL.
    pub fn apply_delete(&mut self, id: u32) {
        self.grow(id);
        self.remove(id);
    }

    fn remove(&mut self, id: u32) -> bool {
        let Some(info) = self.series.get_mut(id as usize).and_then(Option::take) else {
            return false;
        };
        if self.by_name.get(&*info.name) == Some(&id) {
            self.by_name.remove(&*info.name);
        }
        if info.name.contains(';') {
            self.tagged.remove(&id);
        } else {
            self.tree.remove(&info.name, id);
        }
        self.live -= 1;
        true
    }

    /// `find` over the tree.
    pub fn find(&self, pattern: &Glob) -> Vec<lookout_core::FindNode> {
        self.tree.find(pattern)
    }

    /// Ids of live series matching `pattern`: untagged by path, tagged by their path part.
    pub fn matching(&self, pattern: &Glob) -> Vec<u32> {
        let mut ids = self.tree.series_matching(pattern);
        for &id in &self.tagged {
            if let Some(info) = self.series(id) {
                let path = info.name.split(';').next().unwrap_or("");
                if pattern.matches(path) {
                    ids.push(id);
                }
            }
        }
        ids.sort_unstable();
        ids
    }

    /// Every live name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_name.keys().map(|k| k.to_string()).collect();
        v.sort_unstable();
        v
    }

    /// Marks a definition or deletion replayed from the WAL as not yet in an index file, so
    /// the next flush persists it before the WAL holding it is truncated.
    pub fn note_replayed(&mut self, change: Replayed) {
        match change {
            Replayed::Schema(id) => self.pending.schemas.push(id),
            Replayed::Series(id) => self.pending.series.push(id),
            Replayed::Delete(id) => self.pending.deletes.push(id),
        }
    }

    /// Changes since the last index file.
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// Forgets the first `n` entries of each pending list: they are now in an index file.
    pub fn mark_persisted(&mut self, done: &Pending) {
        self.pending
            .schemas
            .drain(..done.schemas.len().min(self.pending.schemas.len()));
        self.pending
            .series
            .drain(..done.series.len().min(self.pending.series.len()));
        self.pending
            .deletes
            .drain(..done.deletes.len().min(self.pending.deletes.len()));
    }

    /// Approximate heap bytes per component, for the memory figures.
    pub fn heap_bytes(&self) -> usize {
        let names: usize = self
            .series
            .iter()
            .flatten()
            .map(|s| (s.name.len() + 16).next_multiple_of(16))
            .sum();
        let map = self.by_name.capacity() * (std::mem::size_of::<(Arc<str>, u32)>() + 1);
        let table = self.series.capacity() * std::mem::size_of::<Option<SeriesInfo>>();
        names + map + table + self.tree.heap_bytes() + self.tagged.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Retention;
    use lookout_core::Aggregation;

    fn schema() -> Schema {
        Schema::new(
            Retention::parse_list("10s:1d").unwrap(),
            Aggregation::Average,
            0.5,
        )
    }

    #[test]
    fn create_lookup_delete_and_recreate() {
        let mut c = Catalog::default();
        let s = c.add_schema(schema());
        assert_eq!(c.find_schema(&schema()), Some(s));
        let a = c.create("a.b.c", s);
        let t = c.create("disk.used;dc=sf", s);
        assert_eq!(c.lookup("a.b.c"), Some((a, s)));
        assert_eq!(c.live(), 2);
        assert_eq!(c.names(), vec!["a.b.c", "disk.used;dc=sf"]);
        assert_eq!(c.matching(&Glob::new("disk.*").unwrap()), vec![t]);
        assert_eq!(c.find(&Glob::new("disk.*").unwrap()), vec![]);
        assert!(c.delete(a));
        assert!(!c.delete(a));
        assert_eq!(c.lookup("a.b.c"), None);
        let a2 = c.create("a.b.c", s);
        assert_ne!(a, a2);
        assert_eq!(c.pending().series, vec![a, t, a2]);
        assert_eq!(c.pending().deletes, vec![a]);
        let done = c.pending().clone();
        c.create("x", s);
        c.mark_persisted(&done);
        assert_eq!(c.pending().series, vec![3]);
        assert!(c.pending().deletes.is_empty());
    }

    #[test]
    fn definitions_from_disk_are_idempotent_and_deletion_is_final() {
        let mut c = Catalog::default();
        assert!(!c.define(0, "a", 0));
        assert!(c.define_schema(0, schema()));
        assert!(c.define_schema(0, schema()));
        assert!(!c.define_schema(5, schema()));
        assert!(c.define(0, "a", 0));
        assert!(c.define(0, "a", 0));
        assert!(!c.define(0, "b", 0));
        assert!(c.define(2, "gone", 0));
        c.apply_delete(2);
        assert!(c.define(2, "gone", 0));
        assert_eq!(c.lookup("gone"), None);
        assert_eq!(c.next_id(), 3);
        c.apply_delete(0);
        assert_eq!(c.live(), 0);
        assert!(c.pending().is_empty());
    }
}
