//! `Rows`: log records column by column, the one in-memory shape of the engine. The head
//! appends into it, a flush compresses it into a block section as it is, and a read of a
//! section decodes back into it, so a query scans head and blocks with the same code.
//!
//! Columns rather than one allocation per record: a record costs a few pushes onto shared
//! buffers, memory is exactly the buffers' capacity, and freeing a flushed head is a handful
//! of frees instead of millions.
//!
//! Encoding to and decoding from block sections is in `block.rs`.

use lookout_core::{LogRecord, Severity};

use crate::batch::NO_FACILITY;
use crate::codec::{put_bytes, put_uvarint, Reader};

/// Records of one component, column by column. Row `i` is `ts[i]`, `seq[i]`, … ; its message
/// is `messages[message_end(i-1)..message_ends[i]]`, its fields the same in `fields`, encoded
/// as the block's fields column (`varint n`, then `n` key/value byte strings).
#[derive(Debug, Default, Clone)]
pub(crate) struct Rows {
    pub(crate) ts: Vec<i64>,
    pub(crate) seq: Vec<u64>,
    pub(crate) severity: Vec<u8>,
    pub(crate) facility: Vec<u8>,
    pub(crate) hosts: Vec<String>,
    pub(crate) host_idx: Vec<u32>,
    pub(crate) messages: Vec<u8>,
    pub(crate) message_ends: Vec<usize>,
    pub(crate) fields: Vec<u8>,
    pub(crate) field_ends: Vec<usize>,
}

/// Host name → index in `Rows::hosts`, kept beside rows that are still being appended to.
pub(crate) type HostIds = foldhash::HashMap<String, u32>;

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub(crate) fn seq(&self, i: usize) -> u64 {
        self.seq[i]
    }

    pub(crate) fn host(&self, i: usize) -> &str {
        &self.hosts[self.host_idx[i] as usize]
    }

    pub(crate) fn message(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.message_ends[i - 1] };
        &self.messages[start..self.message_ends[i]]
    }

    fn fields_raw(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.field_ends[i - 1] };
        &self.fields[start..self.field_ends[i]]
    }

    /// Row `i`'s fields. Their encoding was checked when the rows were built.
    pub(crate) fn fields(&self, i: usize) -> Vec<(String, String)> {
        let mut r = Reader::new(self.fields_raw(i));
        let n = r.uvarint().unwrap_or(0);
        let mut out = Vec::with_capacity(n.min(64) as usize);
        for _ in 0..n {
            match (r.string(), r.string()) {
                (Some(k), Some(v)) => out.push((k, v)),
                _ => break,
            }
        }
        out
    }

    /// Whether row `i` has field `key` equal to `value`, without building its field list.
    pub(crate) fn has_field(&self, i: usize, key: &str, value: &str) -> bool {
        let mut r = Reader::new(self.fields_raw(i));
        let n = r.uvarint().unwrap_or(0);
        for _ in 0..n {
            match (r.bytes(), r.bytes()) {
                (Some(k), Some(v)) if k == key.as_bytes() && v == value.as_bytes() => return true,
                (Some(_), Some(_)) => {}
                _ => return false,
            }
        }
        false
    }

    pub(crate) fn record(&self, i: usize, component: &str) -> LogRecord {
        LogRecord {
            ts_ns: self.ts[i],
            component: component.to_string(),
            host: self.host(i).to_string(),
            // Every severity stored was checked to be 0..=7.
            severity: Severity::from_number(self.severity[i]).unwrap_or(Severity::Debug),
            facility: (self.facility[i] != NO_FACILITY).then_some(self.facility[i]),
            message: self.message(i).to_vec(),
            fields: self.fields(i),
        }
    }

    fn host_id(&mut self, hosts: &mut HostIds, host: &str) -> u32 {
        if let Some(id) = hosts.get(host) {
            return *id;
        }
        let id = self.hosts.len() as u32;
        self.hosts.push(host.to_string());
        hosts.insert(host.to_string(), id);
        id
    }

    /// Appends a record with its sequence number.
    pub(crate) fn push_record(&mut self, seq: u64, r: &LogRecord, hosts: &mut HostIds) {
        let host = self.host_id(hosts, &r.host);
        self.ts.push(r.ts_ns);
        self.seq.push(seq);
        self.severity.push(r.severity.number());
        self.facility.push(r.facility.unwrap_or(NO_FACILITY));
        self.host_idx.push(host);
        self.messages.extend_from_slice(&r.message);
        self.message_ends.push(self.messages.len());
        put_uvarint(&mut self.fields, r.fields.len() as u64);
        for (k, v) in &r.fields {
            put_bytes(&mut self.fields, k.as_bytes());
            put_bytes(&mut self.fields, v.as_bytes());
        }
        self.field_ends.push(self.fields.len());
    }

    /// Appends a copy of row `i` of `from`.
    pub(crate) fn push_row(&mut self, from: &Rows, i: usize, hosts: &mut HostIds) {
        let host = self.host_id(hosts, from.host(i));
        self.ts.push(from.ts[i]);
        self.seq.push(from.seq[i]);
        self.severity.push(from.severity[i]);
        self.facility.push(from.facility[i]);
        self.host_idx.push(host);
        self.messages.extend_from_slice(from.message(i));
        self.message_ends.push(self.messages.len());
        self.fields.extend_from_slice(from.fields_raw(i));
        self.field_ends.push(self.fields.len());
    }

    /// Heap bytes held (capacities), the figure the head's memory budget counts.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ts.capacity() * 8
            + self.seq.capacity() * 8
            + self.severity.capacity()
            + self.facility.capacity()
            + self.host_idx.capacity() * 4
            + self.messages.capacity()
            + self.message_ends.capacity() * std::mem::size_of::<usize>()
            + self.fields.capacity()
            + self.field_ends.capacity() * std::mem::size_of::<usize>()
            + self
                .hosts
                .iter()
                .map(|h| h.capacity() + std::mem::size_of::<String>())
                .sum::<usize>()
    }

    /// Empty rows with room for `rows` records whose messages and fields take about
    /// `message_bytes` and `field_bytes`: a head chunk sized from the one before it grows
    /// without reallocating (and copying) its buffers.
    pub(crate) fn with_capacity(rows: usize, message_bytes: usize, field_bytes: usize) -> Rows {
        Rows {
            ts: Vec::with_capacity(rows),
            seq: Vec::with_capacity(rows),
            severity: Vec::with_capacity(rows),
            facility: Vec::with_capacity(rows),
            hosts: Vec::new(),
            host_idx: Vec::with_capacity(rows),
            messages: Vec::with_capacity(message_bytes),
            message_ends: Vec::with_capacity(rows),
            fields: Vec::with_capacity(field_bytes),
            field_ends: Vec::with_capacity(rows),
        }
    }

    /// Gives back the spare capacity of the variable-length columns once no more rows come,
    /// when it is worth a copy (over a quarter of the buffer).
    pub(crate) fn shrink(&mut self) {
        for buf in [&mut self.messages, &mut self.fields] {
            if buf.capacity() - buf.len() > buf.capacity() / 4 {
                buf.shrink_to_fit();
            }
        }
    }

    /// Smallest and largest timestamp; `None` when empty.
    pub(crate) fn time_bounds(&self) -> Option<(i64, i64)> {
        let min = *self.ts.iter().min()?;
        let max = *self.ts.iter().max()?;
        Some((min, max))
    }

    /// Rows are in (time, sequence) order.
    pub(crate) fn is_sorted(&self) -> bool {
        (1..self.len()).all(|i| (self.ts[i - 1], self.seq[i - 1]) <= (self.ts[i], self.seq[i]))
    }

    /// A copy with the rows in (time, sequence) order.
    pub(crate) fn sorted(&self) -> Rows {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| (self.ts[i], self.seq[i]));
        self.select(order)
    }

    /// A copy of the rows at `indexes`, in that order.
    pub(crate) fn select(&self, indexes: impl IntoIterator<Item = usize>) -> Rows {
        let mut out = Rows::default();
        let mut hosts = HostIds::default();
        for i in indexes {
            out.push_row(self, i, &mut hosts);
        }
        out
    }
}
