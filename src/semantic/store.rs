//! Per-shard, per-scope contiguous vector storage.
//!
//! Each shard keeps, beside its policy and under the same lock, one [`Slab`] per scope
//! that has entries in the shard. A slab is dense:
//!
//! - `vectors`: one `Vec<f32>`, row `r` at `r * dim .. (r + 1) * dim`;
//! - `rows`: parallel to the vectors, the owner's key and hash, a stable id, the write's
//!   sequence number and the governance metadata;
//! - `slots`: id → row. Removal is `swap_remove` (the last row moves into the hole, its
//!   slot is updated), so the scan never meets a hole and entries never move ids.
//!
//! The policy's entry for a key holds a [`SemRef`] (scope index, id) when the key has a
//! vector: that is the only link from values to vectors.
//!
//! # Invariants (checked by `SemanticCache::validate`)
//!
//! - `vectors.len() == rows.len() * dim`; `slots[rows[r].id] == r` for every row; every
//!   other slot is free (on the free list);
//! - a slab is never empty: the last removal frees its scope index for reuse;
//! - the entries of the policy (live or expired, not yet reclaimed) with a `SemRef` and
//!   the rows of the shard's slabs are in one-to-one correspondence, and a row's key is
//!   its entry's key.

use std::collections::HashMap;
use std::sync::Arc;

/// "No row": a free slot.
const FREE: u32 = u32::MAX;

/// Where a key's vector lives in its shard: the scope's slab and the row's stable id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SemRef {
    pub(crate) scope: u32,
    pub(crate) id: u32,
}

/// What a row says about its entry.
#[derive(Debug)]
pub(crate) struct Row<K> {
    pub(crate) key: K,
    pub(crate) hash: u64,
    pub(crate) id: u32,
    /// The write's sequence number: unique per semantic write, larger is newer.
    pub(crate) seq: u64,
    pub(crate) meta: Option<Arc<[u8]>>,
}

/// One scope's vectors in one shard.
#[derive(Debug)]
pub(crate) struct Slab<K> {
    pub(crate) name: Arc<str>,
    /// The generation stripe of the scope (see `SemanticCache`).
    pub(crate) stripe: usize,
    pub(crate) vectors: Vec<f32>,
    pub(crate) rows: Vec<Row<K>>,
    slots: Vec<u32>,
    free: Vec<u32>,
}

impl<K> Slab<K> {
    fn new(name: Arc<str>, stripe: usize) -> Self {
        Slab {
            name,
            stripe,
            vectors: Vec::new(),
            rows: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Appends a row; returns its id.
    fn push(&mut self, vector: &[f32], mut row: Row<K>) -> u32 {
        let r = self.rows.len() as u32;
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = r;
                id
            }
            None => {
                self.slots.push(r);
                (self.slots.len() - 1) as u32
            }
        };
        row.id = id;
        self.vectors.extend_from_slice(vector);
        self.rows.push(row);
        id
    }

    /// The row index of `id`, if it is in use.
    #[inline]
    pub(crate) fn row_of(&self, id: u32) -> Option<usize> {
        match self.slots.get(id as usize) {
            Some(&r) if r != FREE => Some(r as usize),
            _ => None,
        }
    }

    /// Removes the row of `id` by swap-remove; `false` if `id` is not in use.
    fn remove(&mut self, id: u32, dim: usize) -> bool {
        let Some(r) = self.row_of(id) else {
            return false;
        };
        let last = self.rows.len() - 1;
        if r != last {
            self.vectors
                .copy_within(last * dim..(last + 1) * dim, r * dim);
            let moved = self.rows[last].id;
            self.slots[moved as usize] = r as u32;
        }
        self.vectors.truncate(last * dim);
        let gone = self.rows.swap_remove(r);
        self.slots[id as usize] = FREE;
        self.free.push(id);
        // The key's `Drop` is user code: it runs once the slab is consistent again.
        drop(gone);
        true
    }

    /// The vector of row `r`.
    #[inline]
    pub(crate) fn vector(&self, r: usize, dim: usize) -> &[f32] {
        &self.vectors[r * dim..(r + 1) * dim]
    }

    fn validate(&self, dim: usize) -> Result<(), String> {
        if self.rows.is_empty() {
            return Err(format!("scope {:?}: empty slab kept", self.name));
        }
        if self.vectors.len() != self.rows.len() * dim {
            return Err(format!(
                "scope {:?}: {} floats for {} rows of {dim}",
                self.name,
                self.vectors.len(),
                self.rows.len()
            ));
        }
        for (r, row) in self.rows.iter().enumerate() {
            if self.row_of(row.id) != Some(r) {
                return Err(format!("scope {:?}: row {r} not at its slot", self.name));
            }
            let n2: f64 = self
                .vector(r, dim)
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum();
            if (n2 - 1.0).abs() > 1e-5 {
                return Err(format!("scope {:?}: row {r} has norm² {n2}", self.name));
            }
        }
        let used = self.slots.iter().filter(|&&s| s != FREE).count();
        if used != self.rows.len() || used + self.free.len() != self.slots.len() {
            return Err(format!(
                "scope {:?}: slots and free list disagree",
                self.name
            ));
        }
        Ok(())
    }
}

/// The slabs of one shard, by scope.
#[derive(Debug)]
pub(crate) struct Slabs<K> {
    slabs: Vec<Option<Slab<K>>>,
    by_name: HashMap<Arc<str>, u32>,
    free: Vec<u32>,
}

impl<K> Default for Slabs<K> {
    fn default() -> Self {
        Slabs {
            slabs: Vec::new(),
            by_name: HashMap::new(),
            free: Vec::new(),
        }
    }
}

impl<K> Slabs<K> {
    /// The slab of scope `name`, if the shard has entries in it.
    #[inline]
    pub(crate) fn find(&self, name: &str) -> Option<(u32, &Slab<K>)> {
        let &i = self.by_name.get(name)?;
        self.slabs[i as usize].as_ref().map(|s| (i, s))
    }

    /// The slab at scope index `i`, if in use.
    #[inline]
    pub(crate) fn at(&self, i: u32) -> Option<&Slab<K>> {
        self.slabs.get(i as usize).and_then(Option::as_ref)
    }

    /// Adds a row to scope `name` (creating its slab); returns where it went and the
    /// scope's stripe.
    pub(crate) fn push(
        &mut self,
        name: &str,
        stripe: usize,
        vector: &[f32],
        row: Row<K>,
    ) -> SemRef {
        let scope = match self.by_name.get(name) {
            Some(&i) => i,
            None => {
                let name: Arc<str> = Arc::from(name);
                let slab = Slab::new(name.clone(), stripe);
                let i = match self.free.pop() {
                    Some(i) => {
                        self.slabs[i as usize] = Some(slab);
                        i
                    }
                    None => {
                        self.slabs.push(Some(slab));
                        (self.slabs.len() - 1) as u32
                    }
                };
                self.by_name.insert(name, i);
                i
            }
        };
        let slab = self.slabs[scope as usize]
            .as_mut()
            .expect("by_name points at a live slab");
        let id = slab.push(vector, row);
        SemRef { scope, id }
    }

    /// Removes the row `at`; returns the stripe of its scope, or `None` if there was no
    /// such row (an invariant violation, reported by `validate`, never a panic).
    pub(crate) fn remove(&mut self, at: SemRef, dim: usize) -> Option<usize> {
        let slab = self.slabs.get_mut(at.scope as usize)?.as_mut()?;
        if !slab.remove(at.id, dim) {
            return None;
        }
        let stripe = slab.stripe;
        if slab.rows.is_empty() {
            self.by_name.remove(&slab.name);
            self.slabs[at.scope as usize] = None;
            self.free.push(at.scope);
        }
        Some(stripe)
    }

    /// Forgets every row; returns them, for the caller to drop after the shard lock is
    /// released (the keys' `Drop` is user code).
    #[must_use]
    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Every slab in use.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Slab<K>)> {
        self.slabs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as u32, s)))
    }

    /// Number of rows over all scopes.
    pub(crate) fn rows(&self) -> usize {
        self.iter().map(|(_, s)| s.rows.len()).sum()
    }

    pub(crate) fn validate(&self, dim: usize) -> Result<(), String> {
        for (i, slab) in self.iter() {
            slab.validate(dim)?;
            if self.by_name.get(&*slab.name) != Some(&i) {
                return Err(format!("scope {:?} not indexed at {i}", slab.name));
            }
        }
        if self.by_name.len() != self.iter().count() {
            return Err("scope index has stale names".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: u32) -> Row<u32> {
        Row {
            key,
            hash: u64::from(key),
            id: 0,
            seq: u64::from(key),
            meta: None,
        }
    }

    #[test]
    fn swap_remove_keeps_ids_and_rows_dense() {
        let mut s = Slabs::default();
        let a = s.push("t", 0, &[1.0, 0.0], row(1));
        let b = s.push("t", 0, &[0.0, 1.0], row(2));
        let c = s.push("t", 0, &[0.6, 0.8], row(3));
        s.validate(2).unwrap();
        assert_eq!(s.remove(a, 2), Some(0));
        s.validate(2).unwrap();
        let (_, slab) = s.find("t").unwrap();
        let rc = slab.row_of(c.id).unwrap();
        assert_eq!(slab.vector(rc, 2), [0.6, 0.8]);
        assert_eq!(slab.rows[rc].key, 3);
        assert_eq!(s.remove(a, 2), None);
        s.remove(b, 2).unwrap();
        s.remove(c, 2).unwrap();
        assert!(s.find("t").is_none());
        s.validate(2).unwrap();
        let d = s.push("u", 1, &[1.0, 0.0], row(4));
        assert_eq!(d.scope, a.scope, "freed scope index reused");
        assert_eq!(s.rows(), 1);
    }
}
