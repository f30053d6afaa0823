//! Fetched series data and rollup aggregation methods.
//!
//! A fetch returns each series on a fixed step grid, like whisper's `fetch`: slot `i` holds the
//! value at `start + i * step`, `None` where nothing was written. Queries and render functions
//! work on this shape; how the points were stored is the engine's business.

/// How a rollup archive (or a `maxDataPoints` consolidation) combines finer points, as carbon's
/// storage-aggregation.conf spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Aggregation {
    /// Mean of the known values.
    #[default]
    Average,
    /// Sum of the known values.
    Sum,
    /// Smallest known value.
    Min,
    /// Largest known value.
    Max,
    /// The newest known value.
    Last,
}

impl Aggregation {
    /// Parses carbon's names (`average`/`avg`, `sum`, `min`, `max`, `last`).
    pub fn parse(s: &str) -> Option<Aggregation> {
        Some(match s {
            "average" | "avg" => Aggregation::Average,
            "sum" => Aggregation::Sum,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "last" => Aggregation::Last,
            _ => return None,
        })
    }

    /// carbon's name for the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Average => "average",
            Aggregation::Sum => "sum",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::Last => "last",
        }
    }

    /// Combines the known values of one bucket (`values` in time order). `None` when empty.
    pub fn apply(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        Some(match self {
            Aggregation::Average => values.iter().sum::<f64>() / values.len() as f64,
            Aggregation::Sum => values.iter().sum(),
            Aggregation::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregation::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregation::Last => values[values.len() - 1],
        })
    }
}

/// One series as fetched: values on a fixed grid.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    /// Canonical series name (tags sorted), e.g. `disk.used;dc=sf;host=web01`.
    pub name: String,
    /// Timestamp of the first slot, a multiple of `step`.
    pub start: i64,
    /// Seconds between slots.
    pub step: i64,
    /// One entry per slot; `None` where no point is stored.
    pub values: Vec<Option<f64>>,
    /// The series' rollup method: the natural way to consolidate it further.
    pub aggregation: Aggregation,
    /// Fraction of known values a rollup bucket needs to be non-null.
    pub x_files_factor: f64,
}

impl SeriesData {
    /// Timestamp just past the last slot (`start + len * step`).
    pub fn end(&self) -> i64 {
        self.start + self.values.len() as i64 * self.step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregations_follow_carbon() {
        let v = [1.0, 4.0, 2.0];
        assert_eq!(Aggregation::Average.apply(&v), Some(7.0 / 3.0));
        assert_eq!(Aggregation::Sum.apply(&v), Some(7.0));
        assert_eq!(Aggregation::Min.apply(&v), Some(1.0));
        assert_eq!(Aggregation::Max.apply(&v), Some(4.0));
        assert_eq!(Aggregation::Last.apply(&v), Some(2.0));
        assert_eq!(Aggregation::Sum.apply(&[]), None);
        assert_eq!(Aggregation::parse("avg"), Some(Aggregation::Average));
        assert_eq!(Aggregation::parse("median"), None);
    }
}
