//! Queueing-model sizing: how many servers an M/M/c queue needs so that a percentile of
//! the response time (wait + service) meets a target, from Erlang C.

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = λ/μ` (needs `a < c`), computed by the stable Erlang-B recursion.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if a <= 0.0 {
        return 0.0;
    }
    if a >= f64::from(c) {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho + rho * b)
}

/// P(response time > t) in M/M/c with arrival rate `lambda` and per-server rate `mu`:
/// the service is Exp(μ); with probability C the request also waits Exp(cμ − λ).
pub fn mmc_response_tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let a = lambda / mu;
    if a >= f64::from(c) {
        return 1.0;
    }
    let wait = erlang_c(c, a);
    let theta = f64::from(c) * mu - lambda;
    let service_only = (-mu * t).exp();
    let with_wait = if (theta - mu).abs() < 1e-12 * mu {
        (1.0 + mu * t) * (-mu * t).exp()
    } else {
        (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - wait) * service_only + wait * with_wait
}

/// The `q`-quantile of the M/M/c response time (bisection on the tail), or infinity
/// when the queue is unstable.
pub fn mmc_response_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> f64 {
    if lambda / mu >= f64::from(c) {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0.0, 1.0 / mu);
    while mmc_response_tail(c, lambda, mu, hi) > 1.0 - q {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mmc_response_tail(c, lambda, mu, mid) > 1.0 - q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// The smallest number of servers (at most `max`) whose M/M/c response-time
/// `q`-quantile is at most `target_s`; `max` when none is.
pub fn servers_for_percentile(lambda: f64, mu: f64, q: f64, target_s: f64, max: u32) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let first = ((lambda / mu).floor() as u32 + 1).max(1);
    (first..=max.max(first))
        .find(|&c| mmc_response_quantile(c, lambda, mu, q) <= target_s)
        .unwrap_or(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed forms: M/M/1 waits with probability ρ; Erlang C for c = 2, a = 1 is 1/3;
    /// the M/M/1 response time is Exp(μ − λ), so its p-quantile is −ln(1−p)/(μ − λ).
    #[test]
    fn erlang_c_and_response_quantiles_match_closed_forms() {
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        let q = mmc_response_quantile(1, 0.7, 1.0, 0.99);
        assert!((q - (100.0f64).ln() / 0.3).abs() < 1e-9, "{q}");
        // θ = μ: M/M/2 with λ = 1, μ = 1 → θ = 2μ − λ = 1 = μ.
        let t: f64 = 2.0;
        let c = erlang_c(2, 1.0);
        let want = (1.0 - c) * (-t).exp() + c * (1.0 + t) * (-t).exp();
        assert!((mmc_response_tail(2, 1.0, 1.0, t) - want).abs() < 1e-12);
    }

    #[test]
    fn the_smallest_sufficient_server_count_is_chosen() {
        let (lambda, mu, q, target) = (7.2, 1.0, 0.95, 4.0);
        let c = servers_for_percentile(lambda, mu, q, target, 64);
        assert!(mmc_response_quantile(c, lambda, mu, q) <= target);
        assert!(mmc_response_quantile(c - 1, lambda, mu, q) > target);
        assert_eq!(servers_for_percentile(0.0, 1.0, 0.9, 1.0, 10), 0);
    }
}
