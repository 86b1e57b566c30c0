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
    /// Redraw values outside `[min, max]` (a truncated distribution) instead of
    /// clamping them onto the bounds.
    truncate: bool,
}

impl TokenDist {
    /// Counts from `dist`, rounded and clamped to `[min, max]` (`min` at least 1).
    pub fn new(dist: Dist, min: u32, max: u32) -> Self {
        let min = min.max(1);
        TokenDist {
            dist,
            min,
            max: max.max(min),
            truncate: false,
        }
    }

    /// Counts from `dist` truncated to `[min, max]`: values outside are redrawn, so
    /// no probability mass piles up on the bounds (a truncated normal).
    pub fn truncated(dist: Dist, min: u32, max: u32) -> Self {
        TokenDist {
            truncate: true,
            ..TokenDist::new(dist, min, max)
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
            truncate: false,
        }
    }

    /// Counts drawn uniformly from column `column` (by header name) of a CSV file, such
    /// as one column of a length-only trace; clamped to `[1, max]`. Errors name the
    /// file and line.
    pub fn from_column(path: &std::path::Path, column: &str, max: u32) -> Result<Self, String> {
        let mut values = Vec::new();
        crate::csv::for_each_row(path, &[column], |line, cells| {
            let n = cells[0].parse::<u32>().map_err(|_| {
                format!(
                    "{}:{line}: `{column}` is not a whole number of tokens",
                    path.display()
                )
            })?;
            values.push(f64::from(n));
            Ok(())
        })?;
        if values.is_empty() {
            return Err(format!("`{}` has no rows", path.display()));
        }
        let dist = Dist::empirical(values).map_err(|e| e.to_string())?;
        Ok(TokenDist::new(dist, 1, max))
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
        let (lo, hi) = (f64::from(self.min), f64::from(self.max));
        let mut x = self.dist.sample(rng).round();
        if self.truncate {
            // Bounded effort: a window with almost no mass falls back to clamping.
            for _ in 0..1000 {
                if (lo..=hi).contains(&x) {
                    break;
                }
                x = self.dist.sample(rng).round();
            }
        }
        x.clamp(lo, hi) as u32
    }
}

/// (input, output) token pairs read from a file and drawn whole, so the correlation
/// between a prompt's length and its answer's survives (ShareGPT, arXiv summarization).
#[derive(Clone, Debug)]
pub struct EmpiricalPairs {
    pairs: std::sync::Arc<[(u32, u32)]>,
}

impl EmpiricalPairs {
    /// Reads columns `input` and `output` (by header name) of a CSV file; errors name
    /// the file and line.
    pub fn from_csv(path: &std::path::Path, input: &str, output: &str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        crate::csv::for_each_row(path, &[input, output], |line, cells| {
            let count = |cell: &str, name: &str| -> Result<u32, String> {
                cell.parse::<u32>().map_err(|_| {
                    format!(
                        "{}:{line}: `{name}` is not a whole number of tokens",
                        path.display()
                    )
                })
            };
            pairs.push((
                count(cells[0], input)?.max(1),
                count(cells[1], output)?.max(1),
            ));
            Ok(())
        })?;
        if pairs.is_empty() {
            return Err(format!("`{}` has no rows", path.display()));
        }
        Ok(EmpiricalPairs {
            pairs: pairs.into(),
        })
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no rows (never, once read).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Mean (input, output) over the rows.
    pub fn means(&self) -> (f64, f64) {
        let n = self.pairs.len() as f64;
        let (a, b) = self.pairs.iter().fold((0.0, 0.0), |(a, b), &(i, o)| {
            (a + f64::from(i), b + f64::from(o))
        });
        (a / n, b / n)
    }

    /// A uniformly drawn row.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> (u32, u32) {
        let n = self.pairs.len() as u128;
        self.pairs[((u128::from(rng.next_u64()) * n) >> 64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::RngStreams;

    #[test]
    fn empirical_pairs_are_drawn_whole() {
        let dir = std::env::temp_dir().join(format!("inferscale-pairs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pairs.csv");
        std::fs::write(
            &path,
            "num_prefill_tokens,num_decode_tokens\n100,1\n200,2\n300,3\n",
        )
        .unwrap();
        let pairs =
            EmpiricalPairs::from_csv(&path, "num_prefill_tokens", "num_decode_tokens").unwrap();
        assert_eq!((pairs.len(), pairs.means()), (3, (200.0, 2.0)));
        let mut rng = RngStreams::new(4, 0).stream("tokens");
        for _ in 0..1000 {
            let (i, o) = pairs.sample(&mut rng);
            assert_eq!(i, o * 100, "a row is drawn whole");
        }
        std::fs::write(
            &path,
            "num_prefill_tokens,num_decode_tokens\n100,1\n2x0,2\n",
        )
        .unwrap();
        let err =
            EmpiricalPairs::from_csv(&path, "num_prefill_tokens", "num_decode_tokens").unwrap_err();
        assert!(
            err.ends_with("pairs.csv:3: `num_prefill_tokens` is not a whole number of tokens"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_single_column_is_resampled() {
        let dir = std::env::temp_dir().join(format!("inferscale-column-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lengths.csv");
        std::fs::write(&path, "a,b\n1,10\n2,30\n3,9000\n").unwrap();
        let d = TokenDist::from_column(&path, "b", 4096).unwrap();
        let mut rng = RngStreams::new(4, 0).stream("tokens");
        let draws: Vec<u32> = (0..3000).map(|_| d.sample(&mut rng)).collect();
        for v in [10, 30, 4096] {
            let share = draws.iter().filter(|&&x| x == v).count() as f64 / 3000.0;
            assert!((share - 1.0 / 3.0).abs() < 0.04, "{v}: {share}");
        }
        let err = TokenDist::from_column(&path, "c", 10).unwrap_err();
        assert!(
            err.contains("has no column `c`; its columns are: a,b"),
            "{err}"
        );
        // A byte-order mark before the header is skipped, as everywhere.
        std::fs::write(&path, "\u{feff}a,b\n1,7\n").unwrap();
        let d = TokenDist::from_column(&path, "a", 10).unwrap();
        assert_eq!(d.sample(&mut rng), 1);
        std::fs::write(&path, "a,b\n1,-3\n").unwrap();
        let err = TokenDist::from_column(&path, "b", 10).unwrap_err();
        assert!(
            err.ends_with("lengths.csv:2: `b` is not a whole number of tokens"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A normal(100, 50) truncated to [100, 400] is a half-normal above 100: no pile-up
    /// at 100, and its mean is 100 + 50·√(2/π) ≈ 139.9 (the clamped one: ≈ 120).
    #[test]
    fn truncation_redraws_instead_of_clamping() {
        let mut rng = RngStreams::new(2, 0).stream("tokens");
        let d = TokenDist::truncated(Dist::normal(100.0, 50.0).unwrap(), 100, 400);
        let n = 100_000;
        let draws: Vec<u32> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let mean = draws.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        assert!((mean - 139.9).abs() < 0.6, "{mean}");
        let at_bound = draws.iter().filter(|&&x| x == 100).count() as f64 / n as f64;
        assert!(at_bound < 0.02, "{at_bound}");
    }

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
