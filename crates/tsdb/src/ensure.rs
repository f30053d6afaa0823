//! Creating a series with a schema chosen by the caller rather than by the config's rules, and
//! telling the caller at which archive level the engine will store each timestamp of it. Both
//! exist for importers (`lookout import whisper`): a whisper file fixes its own retentions and
//! aggregation method, and the importer must write each archive's points where the engine keeps
//! that archive. Normal ingestion never uses this file: its series get their schema from the
//! rules in `engine::create_series`.

use lookout_core::Aggregation;

use crate::catalog::Catalog;
use crate::engine::{lock, read, write, Tsdb};
use crate::error::{Error, Result};
use crate::schema::{Retention, Schema};
use crate::wal_record::{self, SeriesDef};

/// The retentions and rollup method a series is stored with, as an importer states them.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSchema {
    /// Archives, finest first, valid as whisper's `validateArchiveList` requires.
    pub retentions: Vec<Retention>,
    /// How finer points are combined into coarser archives.
    pub aggregation: Aggregation,
    /// Fraction of known finer points a coarser point needs.
    pub x_files_factor: f64,
}

/// What [`Tsdb::ensure_series`] found or did.
#[derive(Debug, Clone, PartialEq)]
pub enum Ensured {
    /// The series did not exist and was created with the schema asked for.
    Created,
    /// The series exists with exactly that schema.
    Exists,
    /// The series exists with another schema, which it keeps (a schema is fixed for life, as
    /// in whisper); this is the schema it has.
    Differs(SeriesSchema),
}

/// How the engine stores one series at this moment: its schema, and which archive level an
/// append of each timestamp goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesLayout {
    /// The series' schema.
    pub schema: SeriesSchema,
    /// `level_starts[l]` is the rollup watermark of level `l` (`i64::MIN` for level 0 and for
    /// levels still derived everywhere): a point older than it is written to a coarser level.
    pub level_starts: Vec<i64>,
}

impl SeriesLayout {
    /// The level an append of `ts` is stored at now: the finest level whose watermark is not
    /// above `ts` (the same rule `append` routes by).
    pub fn level_for(&self, ts: i64) -> usize {
        let mut level = 0;
        while level + 1 < self.level_starts.len() && ts < self.level_starts[level + 1] {
            level += 1;
        }
        level
    }
}

impl Tsdb {
    /// Creates series `name` with `schema` unless it exists. The definition (and the schema's,
    /// if it is new to the engine) is in the WAL before this returns, like any series created
    /// by `append`, so it survives a crash once the WAL is synced and a restart in any case
    /// after a clean close. A new schema starts with the rollup watermarks that the next
    /// `maintain` would give it at the engine's clock, so points appended right after are
    /// routed to the level they will be stored at. An existing series keeps its schema: the
    /// result says whether it differs.
    pub fn ensure_series(&self, name: &str, schema: &SeriesSchema) -> Result<Ensured> {
        let resolved = Schema::new(
            schema.retentions.clone(),
            schema.aggregation,
            schema.x_files_factor,
        );
        if resolved.check().is_none() {
            return Err(Error::InvalidRetention {
                text: describe(&schema.retentions),
                reason: format!(
                    "not a valid whisper archive list with xFilesFactor {}",
                    schema.x_files_factor
                ),
            });
        }
        let canon = Catalog::canonical(name)
            .map_err(|_| Error::InvalidConfig(format!("invalid series name {name:?}")))?
            .into_owned();
        let mut maint = lock(&self.maint);
        let (new_schema, schemas) = {
            let mut cat = write(&self.catalog);
            if let Some((_, sid)) = cat.lookup(&canon) {
                let existing = cat.schema(sid).map(|s| public(s));
                return Ok(match existing {
                    Some(s) if s == *schema => Ensured::Exists,
                    Some(s) => Ensured::Differs(s),
                    None => Ensured::Exists,
                });
            }
            let id = cat.next_id();
            if id == u32::MAX {
                return Err(Error::TooManySeries(u64::from(id)));
            }
            let mut buf = Vec::new();
            let (sid, new_schema) = match cat.find_schema(&resolved) {
                Some(sid) => (sid, false),
                None => {
                    let sid = cat.schemas().len() as u32;
                    wal_record::encode_schema_def(sid, &resolved, &mut buf);
                    self.wal.append(&buf)?;
                    (sid, true)
                }
            };
            buf.clear();
            wal_record::encode_series_defs(
                std::iter::once(SeriesDef {
                    id,
                    schema: sid,
                    name: &canon,
                }),
                &mut buf,
            );
            self.wal.append(&buf)?;
            if new_schema {
                cat.add_schema(resolved);
            }
            cat.create(&canon, sid);
            (new_schema.then_some(sid), cat.schemas().to_vec())
        };
        if let Some(sid) = new_schema {
            let levels = schemas.get(sid as usize).map_or(0, |s| s.levels());
            for coarse in 1..levels {
                self.raise_watermark_to_clock(&mut maint, sid, coarse, &schemas);
            }
        }
        drop(maint);
        self.update_gauges();
        Ok(Ensured::Created)
    }

    /// The schema of series `name` and where its appends go now; `None` if it does not exist.
    pub fn series_layout(&self, name: &str) -> Option<SeriesLayout> {
        let cat = read(&self.catalog);
        let (_, sid) = cat.lookup(name)?;
        let schema = cat.schema(sid)?;
        let ing = lock(&self.ingest);
        Some(SeriesLayout {
            schema: public(schema),
            level_starts: (0..schema.levels())
                .map(|l| ing.watermarks.get(sid, l))
                .collect(),
        })
    }
}

fn public(s: &Schema) -> SeriesSchema {
    SeriesSchema {
        retentions: s.retentions.clone(),
        aggregation: s.aggregation,
        x_files_factor: s.xff,
    }
}

fn describe(retentions: &[Retention]) -> String {
    retentions
        .iter()
        .map(|r| format!("{}:{}", r.step_secs, r.points))
        .collect::<Vec<_>>()
        .join(",")
}
