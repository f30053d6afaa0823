//! The render API's `maxDataPoints` consolidation, as graphite-web's `renderViewJson` does it:
//! `valuesPerPoint = ceil(points / maxDataPoints)`, the start "nudged" so buckets line up across
//! refreshes, then each bucket merged with the series' consolidation function and
//! xFilesFactor.
//!
//! graphite-web's quirks are kept on purpose, because Grafana panels are compared against it:
//! the nudge drops one value fewer than it skips, and a partial last bucket is judged against
//! the full bucket size. Output formats (JSON, `noNullPoints`) are the HTTP layer's.

use crate::series::Series;

/// Consolidates one series so it has at most about `max_data_points` datapoints, using the
/// series' own time range. Afterwards value `i` is at `start + i * step` (the step grows by the
/// number of values merged per point). `0` leaves the series as it is.
///
/// graphite-web measures the range over all series of a render; use [`consolidate_all`] for a
/// whole response to match it exactly when series cover different ranges.
pub fn consolidate(series: &mut Series, max_data_points: usize) {
    let range = series.end - series.start;
    consolidate_in_range(series, max_data_points, range);
}

/// Consolidates every series of one render, with the point count measured over the union of
/// their time ranges, as graphite-web does.
pub fn consolidate_all(series: &mut [Series], max_data_points: usize) {
    let start = series.iter().map(|s| s.start).min();
    let end = series.iter().map(|s| s.end).max();
    let (Some(start), Some(end)) = (start, end) else {
        return;
    };
    for s in series {
        consolidate_in_range(s, max_data_points, end - start);
    }
}

fn consolidate_in_range(s: &mut Series, max_data_points: usize, time_range: i64) {
    if max_data_points == 0 || s.step <= 0 {
        return;
    }
    let vpp = if max_data_points == 1 {
        s.values.len()
    } else {
        let points = time_range as f64 / s.step as f64;
        if (max_data_points as f64) < points {
            let vpp = (points / max_data_points as f64).ceil() as i64;
            let seconds_per_point = vpp * s.step;
            let nudge = seconds_per_point + s.start.rem_euclid(s.step)
                - s.start.rem_euclid(seconds_per_point);
            s.start += nudge;
            let lose = (nudge / s.step).max(1) as usize - 1;
            s.values.drain(..lose.min(s.values.len()));
            vpp as usize
        } else {
            1
        }
    };
    if vpp > 1 {
        s.values = s.consolidated(vpp);
        s.step *= vpp as i64;
    }
    let n = s.datapoint_count();
    s.values.truncate(n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Consolidation;

    fn series(start: i64, step: i64, values: Vec<Option<f64>>) -> Series {
        let end = start + values.len() as i64 * step;
        Series::new("s".into(), start, end, step, values, 0.0)
    }

    fn ramp(n: usize) -> Vec<Option<f64>> {
        (0..n).map(|i| Some(i as f64)).collect()
    }

    #[test]
    fn no_consolidation_when_points_fit() {
        let mut s = series(1000, 10, ramp(5));
        consolidate(&mut s, 10);
        assert_eq!((s.start, s.step, s.values.len()), (1000, 10, 5));
        consolidate(&mut s, 0);
        assert_eq!(s.values.len(), 5);
    }

    #[test]
    fn consolidates_with_graphite_nudge() {
        // 360 points, maxDataPoints 100: vpp 4, nudge 40 s, three values dropped.
        let mut s = series(1000, 10, ramp(360));
        consolidate(&mut s, 100);
        assert_eq!((s.start, s.step), (1040, 40));
        assert_eq!(s.values.len(), 90);
        assert_eq!(s.values[0], Some((3.0 + 4.0 + 5.0 + 6.0) / 4.0));
        assert_eq!(s.values[89], Some(359.0));
    }

    #[test]
    fn nudge_depends_on_start_alignment() {
        // start % spp = 20: nudge = 40 + 0 - 20 = 20 → one value dropped.
        let mut s = series(1020, 10, ramp(10));
        consolidate(&mut s, 3);
        assert_eq!((s.start, s.step), (1040, 40));
        assert_eq!(s.values, vec![Some(2.5), Some(6.5), Some(9.0)]);
    }

    #[test]
    fn consolidation_function_and_xff_apply() {
        let mut s = series(0, 10, vec![Some(1.0), None, Some(5.0), None, None, None]);
        s.consolidation = Consolidation::Max;
        s.x_files_factor = 0.5;
        consolidate(&mut s, 2);
        // vpp 3, start%spp == 0 → nudge 30, two values dropped: [5, None, None, None].
        assert_eq!((s.start, s.step), (30, 30));
        assert_eq!(s.values, vec![None, None]);
    }

    #[test]
    fn max_data_points_one_merges_everything() {
        let mut s = series(0, 10, vec![Some(1.0), Some(2.0), None, Some(6.0)]);
        s.consolidation = Consolidation::Sum;
        consolidate(&mut s, 1);
        assert_eq!(s.values, vec![Some(9.0)]);
        assert_eq!((s.start, s.step), (0, 40));
    }

    #[test]
    fn whole_render_uses_the_union_range() {
        let mut list = vec![series(0, 10, ramp(10)), series(50, 10, ramp(5))];
        consolidate_all(&mut list, 5);
        assert_eq!(list[0].step, 20);
        assert_eq!(list[1].step, 20);
    }
}
