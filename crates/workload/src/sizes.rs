//! Request sizes: token counts drawn from a distribution, rounded and clamped.

use inferscale_engine::Dist;
use rand::Rng;

/// A distribution of token counts: a real-valued distribution, rounded to the nearest
/// integer and clamped to `[min, max]` (so a lognormal's tail respects a context limit).
#[derive(Clone, Debug)]
pub struct TokenDist {
    dist: Dist,
    min: u32,
    max: u32,
}

impl TokenDist {
    /// Counts from `dist`, rounded and clamped to `[min, max]` (`min` at least 1).
    pub fn new(dist: Dist, min: u32, max: u32) -> Self {
        let min = min.max(1);
        TokenDist {
            dist,
            min,
            max: max.max(min),
        }
    }

    /// Always `n` (at least 1).
    pub fn fixed(n: u32) -> Self {
        let n = n.max(1);
        TokenDist {
            dist: Dist::deterministic(f64::from(n))
                .unwrap_or_else(|_| unreachable!("a finite count")),
            min: n,
            max: n,
        }
    }

    /// The unclamped mean.
    pub fn mean(&self) -> f64 {
        self.dist.mean()
    }

    /// The largest count this can draw.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Draws one count.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let x = self.dist.sample(rng).round();
        x.clamp(f64::from(self.min), f64::from(self.max)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::RngStreams;

    #[test]
    fn counts_are_rounded_and_clamped() {
        let mut rng = RngStreams::new(1, 0).stream("tokens");
        let d = TokenDist::new(Dist::lognormal_median_sigma(512.0, 2.0).unwrap(), 16, 4096);
        let draws: Vec<u32> = (0..20_000).map(|_| d.sample(&mut rng)).collect();
        assert!(draws.iter().all(|&x| (16..=4096).contains(&x)));
        assert!(
            draws.contains(&16) && draws.contains(&4096),
            "both clamps bite at sigma 2"
        );
        let mut sorted = draws.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        assert!((480..=545).contains(&median), "median {median}");
        assert_eq!(TokenDist::fixed(128).sample(&mut rng), 128);
        assert_eq!(TokenDist::fixed(0).sample(&mut rng), 1);
    }
}
