//! What every chart of tokenscope shares, in the browser and in the server's PNG: the series colours and
//! min/max-preserving downsampling (a 30-minute run stays cheap to draw and keeps its spikes).

/// Colours for series, in order: blue, green, amber, red, violet, slate. Mid-tones, so that each line keeps at least
/// 3:1 contrast (WCAG's bar for graphics) on the light theme's white plot and above 5:1 on the dark theme's and the
/// PNG's panel (`theme::tests` in the app checks both).
pub const PALETTE: [(u8, u8, u8); 6] =
    [(48, 149, 238), (24, 166, 95), (209, 125, 0), (238, 99, 111), (171, 118, 244), (135, 146, 161)];

/// Reduces `points` (sorted by x) to at most about `2 * buckets` points: for each of `buckets` equal x-ranges,
/// the lowest and the highest point, in x order. Short series come back unchanged.
pub fn minmax(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    if buckets == 0 || points.len() <= 2 * buckets {
        return points.to_vec();
    }
    let (x0, x1) = (points[0].0, points[points.len() - 1].0);
    let width = (x1 - x0) / buckets as f64;
    if width <= 0.0 || !width.is_finite() {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(2 * buckets + 2);
    let mut i = 0;
    while i < points.len() {
        let bucket = (((points[i].0 - x0) / width) as usize).min(buckets - 1);
        let end_x = x0 + width * (bucket + 1) as f64;
        let (mut lo, mut hi) = (i, i);
        let mut j = i + 1;
        while j < points.len() && (points[j].0 < end_x || bucket == buckets - 1) {
            if points[j].1 < points[lo].1 {
                lo = j;
            }
            if points[j].1 > points[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(points[a]);
        if b != a {
            out.push(points[b]);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_unchanged() {
        let p = vec![(0.0, 1.0), (1.0, 2.0)];
        assert_eq!(minmax(&p, 10), p);
    }

    #[test]
    fn keeps_extremes_and_order() {
        let mut p: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, (i % 7) as f64)).collect();
        p[5_000].1 = 1_000.0; // a spike
        p[7_777].1 = -50.0; // a dip
        let d = minmax(&p, 100);
        assert!(d.len() <= 200, "{}", d.len());
        assert!(d.iter().any(|&(_, y)| y == 1_000.0), "spike kept");
        assert!(d.iter().any(|&(_, y)| y == -50.0), "dip kept");
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0), "x order kept");
        assert_eq!(d.first().unwrap().0, 0.0);
    }
}
