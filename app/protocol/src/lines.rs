//! How chart lines are drawn, in the browser and in the server's PNG alike: where a line breaks (a sweep's steps and
//! gaps in the data are not joined) and the dash pattern that keeps a line visible when another lies exactly on it.

/// A y value that breaks a line: the points before and after it are not joined (a new sweep step, a gap).
pub const BREAK: f64 = f64::NAN;

/// Dash pattern (dash, gap) in pixels of the `index`-th series of a chart: the first is solid, the others dashed
/// with patterns of their own, so a line lying exactly on another one still shows through (the GPUs of a
/// tensor-parallel server draw the same memory and power lines).
pub fn dash(index: usize) -> Option<(u32, u32)> {
    const PATTERNS: [(u32, u32); 4] = [(10, 6), (4, 4), (16, 5), (2, 5)];
    index.checked_sub(1).map(|i| PATTERNS[i % PATTERNS.len()])
}

/// The runs of joined points of a line: `points` split at every point whose y is not finite ([`BREAK`]), empty runs
/// left out.
pub fn pieces(points: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
    points.split(|p| !p.1.is_finite()).filter(|p| !p.is_empty()).collect()
}

/// Adds a [`BREAK`] wherever x jumps by more than `factor` × the median spacing of the points (a gap of several
/// windows or samples: nothing was measured there, so nothing is drawn). Lines of fewer than 3 points come back
/// unchanged.
pub fn break_gaps(points: Vec<(f64, f64)>, factor: f64) -> Vec<(f64, f64)> {
    let mut gaps: Vec<f64> = points.windows(2).map(|w| w[1].0 - w[0].0).filter(|d| *d > 0.0).collect();
    if gaps.len() < 2 {
        return points;
    }
    gaps.sort_by(f64::total_cmp);
    let limit = gaps[gaps.len() / 2] * factor;
    let mut out = Vec::with_capacity(points.len() + 4);
    for p in points {
        if out.last().is_some_and(|l: &(f64, f64)| l.1.is_finite() && p.0 - l.0 > limit) {
            out.push((p.0, BREAK));
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_at_marks_and_gaps() {
        let p = vec![(0.0, 1.0), (1.0, 2.0), (2.0, BREAK), (2.0, 3.0), (3.0, 4.0)];
        assert_eq!(pieces(&p), vec![&p[..2], &p[3..]]);
        assert!(pieces(&[(0.0, BREAK)]).is_empty());
        // 1 s apart, then a 10 s hole: broken there only.
        let g = break_gaps(vec![(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (12.0, 1.0), (13.0, 1.0)], 4.0);
        assert_eq!(pieces(&g).iter().map(|p| p.len()).collect::<Vec<_>>(), [3, 2]);
        // A missing window or two is not a gap.
        let g = break_gaps(vec![(0.0, 1.0), (1.0, 1.0), (3.0, 1.0), (4.0, 1.0), (5.0, 1.0)], 4.0);
        assert_eq!(pieces(&g).len(), 1);
        assert_eq!(break_gaps(vec![(0.0, 1.0), (9.0, 1.0)], 4.0).len(), 2, "too short to know the spacing");
    }

    #[test]
    fn the_first_series_is_solid_the_others_dashed_differently() {
        assert_eq!(dash(0), None);
        let d: Vec<_> = (1..5).map(|i| dash(i).unwrap()).collect();
        assert!(d.iter().enumerate().all(|(i, a)| d[i + 1..].iter().all(|b| a != b)), "{d:?}");
        assert_eq!(dash(5), dash(1));
    }
}
