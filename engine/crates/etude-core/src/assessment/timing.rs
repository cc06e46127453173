//! Time maps between score positions (quarters) and performance time
//! (seconds), and local tempo fits.

/// A monotone piecewise-linear map from score quarters to seconds, built
/// from anchor points.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimeMap {
    q: Vec<f64>,
    s: Vec<f64>,
    /// Seconds per quarter used beyond the anchors when there is only one.
    default_spq: f64,
}

impl TimeMap {
    /// `points` must be sorted by quarter; points that would make the map go
    /// back in time are dropped.
    pub fn new(points: &[(f64, f64)], default_spq: f64) -> Self {
        let mut q: Vec<f64> = Vec::with_capacity(points.len());
        let mut s: Vec<f64> = Vec::with_capacity(points.len());
        for &(pq, ps) in points {
            match (q.last(), s.last()) {
                (Some(&lq), Some(&ls)) if pq <= lq + 1e-9 || ps <= ls => {}
                _ => {
                    q.push(pq);
                    s.push(ps);
                }
            }
        }
        Self { q, s, default_spq }
    }

    fn edge_spq(&self, first: bool) -> f64 {
        let n = self.q.len();
        if n < 2 {
            return self.default_spq;
        }
        let (a, b) = if first { (0, 1) } else { (n - 2, n - 1) };
        let spq = (self.s[b] - self.s[a]) / (self.q[b] - self.q[a]);
        // Clamp the extrapolation slope to a sane range around the notated tempo.
        spq.clamp(self.default_spq / 4.0, self.default_spq * 4.0)
    }

    /// Seconds for a score position.
    pub fn time_at(&self, q: f64) -> f64 {
        let n = self.q.len();
        if n == 0 {
            return q * self.default_spq;
        }
        if q <= self.q[0] {
            return self.s[0] - (self.q[0] - q) * self.edge_spq(true);
        }
        if q >= self.q[n - 1] {
            return self.s[n - 1] + (q - self.q[n - 1]) * self.edge_spq(false);
        }
        let i = self.q.partition_point(|&x| x <= q);
        let (q0, q1, s0, s1) = (self.q[i - 1], self.q[i], self.s[i - 1], self.s[i]);
        s0 + (q - q0) * (s1 - s0) / (q1 - q0)
    }

    /// Score position for a time (the inverse map).
    pub fn quarter_at(&self, t: f64) -> f64 {
        let n = self.q.len();
        if n == 0 {
            return t / self.default_spq;
        }
        if t <= self.s[0] {
            return self.q[0] - (self.s[0] - t) / self.edge_spq(true);
        }
        if t >= self.s[n - 1] {
            return self.q[n - 1] + (t - self.s[n - 1]) / self.edge_spq(false);
        }
        let i = self.s.partition_point(|&x| x <= t);
        let (q0, q1, s0, s1) = (self.q[i - 1], self.q[i], self.s[i - 1], self.s[i]);
        q0 + (t - s0) * (q1 - q0) / (s1 - s0)
    }
}

/// Weighted least-squares line `s = a + b (q - q0)`; returns `(a, b)`.
pub(crate) fn fit_line(points: &[(f64, f64, f64)], q0: f64) -> Option<(f64, f64)> {
    let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(q, s, w) in points {
        let x = q - q0;
        sw += w;
        sx += w * x;
        sy += w * s;
        sxx += w * x * x;
        sxy += w * x * s;
    }
    if sw <= 0.0 {
        return None;
    }
    let var = sxx - sx * sx / sw;
    if var <= 1e-12 {
        return None;
    }
    let b = (sxy - sx * sy / sw) / var;
    let a = (sy - b * sx) / sw;
    Some((a, b))
}

/// A line `s = a + b (q - q0)` that a few points off it (a slip, a note
/// the player shifted) do not bend: least squares, then iteratively
/// reweighted with Tukey's biweight (weight `(1 - (r / c)²)²`, 0 beyond
/// `c`), `c` = 8 robust standard deviations of the residuals (at least
/// `min_scale_s`, so at least 120 ms at align's 15 ms). The usual 4.685
/// (95 % efficiency for normal noise) is too tight for a line through a
/// handful of real onsets: the scale comes from the median of about eight
/// residuals, and tempo is a curve, not a line, so a tight cut-off drops
/// ordinary neighbours, and which ones it drops changes whenever a nearby
/// note moves (the deviation then jumps with it). A note far off the line (a
/// wrong-group match, a slip of a beat) still weighs nothing. Measured on
/// the injected-mistakes bench (shifted notes reported within ±20 ms): 8
/// beats 4.685 at every rate and seed tried, 3.0 and 3.8 are worse, 12 is no
/// better. The weights fall smoothly, so a point near the cut-off
/// moves the line a little rather than all or nothing. The points' weights
/// are the starting weights; the final ones are written back.
pub(crate) fn biweight_line(
    points: &mut [(f64, f64, f64)],
    q0: f64,
    min_scale_s: f64,
) -> Option<(f64, f64)> {
    reweighted_line(points, q0, min_scale_s, 8.0, |u| {
        if u.abs() < 1.0 {
            (1.0 - u * u).powi(2)
        } else {
            0.0
        }
    })
}

/// Like [`biweight_line`], but reweighted with Cauchy's weight
/// `1 / (1 + (r / c)²)`, `c` = 4 robust standard deviations of the
/// residuals (at least `4 · min_scale_s`): a point's weight falls with its
/// residual but never reaches zero. A point far off the line (a final
/// chord held a second, a long-held pickup) then pulls it by about
/// `c² / r`, which hardly changes as the scale moves, where the biweight
/// puts such a point near its cut-off, and a little change in the scale
/// (any neighbour moving) switched its weight between 0 and 0.2–0.4 — with
/// a residual of a second, tens of milliseconds of the line.
pub(crate) fn cauchy_line(
    points: &mut [(f64, f64, f64)],
    q0: f64,
    min_scale_s: f64,
) -> Option<(f64, f64)> {
    reweighted_line(points, q0, min_scale_s, 4.0, |u| 1.0 / (1.0 + u * u))
}

/// Least squares, then four rounds of iteratively reweighted least squares:
/// each point's weight is its starting weight times `weight(r / c)`, `c` =
/// `tuning` robust standard deviations (1.4826 × the median |residual| of
/// the points with a starting weight, at least `min_scale_s`).
fn reweighted_line(
    points: &mut [(f64, f64, f64)],
    q0: f64,
    min_scale_s: f64,
    tuning: f64,
    weight: impl Fn(f64) -> f64,
) -> Option<(f64, f64)> {
    const ROUNDS: usize = 4;
    let prior: Vec<f64> = points.iter().map(|p| p.2).collect();
    let mut line = fit_line(points, q0)?;
    let mut res: Vec<f64> = Vec::with_capacity(points.len());
    for _ in 0..ROUNDS {
        let (a, b) = line;
        res.clear();
        res.extend(
            points
                .iter()
                .zip(&prior)
                .filter(|(_, &w)| w > 0.0)
                .map(|(&(q, s, _), _)| (s - (a + b * (q - q0))).abs()),
        );
        if res.is_empty() {
            break;
        }
        let scale = (1.4826 * median(&mut res)).max(min_scale_s);
        let c = tuning * scale;
        for (p, &w0) in points.iter_mut().zip(&prior) {
            let u = (p.1 - (a + b * (p.0 - q0))) / c;
            p.2 = w0 * weight(u);
        }
        match fit_line(points, q0) {
            Some(next) => line = next,
            None => break,
        }
    }
    Some(line)
}

/// Median of a small non-empty slice (sorts it).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_interpolates_and_inverts() {
        let m = TimeMap::new(&[(0.0, 1.0), (2.0, 2.0), (4.0, 4.0)], 0.5);
        assert!((m.time_at(1.0) - 1.5).abs() < 1e-12);
        assert!((m.time_at(3.0) - 3.0).abs() < 1e-12);
        assert!((m.time_at(5.0) - 5.0).abs() < 1e-12);
        assert!((m.quarter_at(3.0) - 3.0).abs() < 1e-12);
        assert!((m.quarter_at(1.5) - 1.0).abs() < 1e-12);
    }

    /// `n` points on the line s = 1 + q / 2, alternately `jitter` above and
    /// below it, each of weight 1.
    fn jittered_line(n: usize, jitter: f64) -> Vec<(f64, f64, f64)> {
        (0..n)
            .map(|k| {
                let off = if k % 2 == 0 { jitter } else { -jitter };
                (k as f64, 1.0 + 0.5 * k as f64 + off, 1.0)
            })
            .collect()
    }

    #[test]
    fn biweight_line_ignores_an_outlier() {
        let mut pts = jittered_line(8, 0.01);
        pts[5].1 += 0.2;
        let (a_ls, _) = fit_line(&pts, 4.0).unwrap();
        assert!((a_ls - 3.0).abs() > 0.02);
        let (a, b) = biweight_line(&mut pts, 4.0, 0.01).unwrap();
        assert!(
            (a - 3.0).abs() < 0.011 && (b - 0.5).abs() < 0.005,
            "{a} {b}"
        );
        assert_eq!(pts[5].2, 0.0);
        assert!(biweight_line(&mut pts[..1], 0.0, 0.01).is_none());
    }

    #[test]
    fn biweight_keeps_a_point_at_six_scales() {
        // Nine points on a line, ±1 ms of noise, one 90 ms off: with the
        // 15 ms minimum scale it is 6 scales out, inside the cut-off (8):
        // down-weighted, not dropped.
        let mut pts = jittered_line(9, 0.001);
        pts[7].1 += 0.09;
        biweight_line(&mut pts, 4.0, 0.015).unwrap();
        assert!(pts[7].2 > 0.0 && pts[7].2 < 0.5, "{}", pts[7].2);
        // Twice as far, beyond it.
        pts[7].1 += 0.09;
        for p in pts.iter_mut() {
            p.2 = 1.0;
        }
        biweight_line(&mut pts, 4.0, 0.015).unwrap();
        assert_eq!(pts[7].2, 0.0);
    }

    #[test]
    fn line_fit() {
        let pts = [(0.0, 1.0, 1.0), (1.0, 1.5, 1.0), (2.0, 2.0, 1.0)];
        let (a, b) = fit_line(&pts, 1.0).unwrap();
        assert!((a - 1.5).abs() < 1e-12 && (b - 0.5).abs() < 1e-12);
        assert!(fit_line(&pts[..1], 0.0).is_none());
    }
}
