//! Arrival processes of an open-loop load: when each request is due. Pure functions over a seeded RNG, so a
//! schedule is reproducible and its statistics can be tested without a clock.

use protocol::spec::Arrival;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, Gamma};

use super::error::EngineError;

/// Mixed into the run seed so that arrivals and prompts draw from different streams.
const ARRIVAL_SEED_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// The distribution of gaps between consecutive arrivals.
#[derive(Debug, Clone)]
pub enum ArrivalProcess {
    /// Every gap is `1 / rate`.
    Constant {
        /// The gap, seconds.
        gap_s: f64,
    },
    /// Exponential gaps of mean `1 / rate` (a Poisson process).
    Poisson(Exp<f64>),
    /// Gamma gaps with shape = burstiness and mean `1 / rate` (scale = 1 / (rate · shape)); CV² = 1 / shape.
    Gamma(Gamma<f64>),
}

impl ArrivalProcess {
    /// The process for `rate_rps` requests per second spaced as `arrival` says.
    pub fn new(rate_rps: f64, arrival: Arrival) -> Result<Self, EngineError> {
        if !(rate_rps.is_finite() && rate_rps > 0.0) {
            return Err(EngineError::Arrival(format!("rate must be positive, got {rate_rps}")));
        }
        Ok(match arrival {
            Arrival::Constant => ArrivalProcess::Constant { gap_s: 1.0 / rate_rps },
            Arrival::Poisson => {
                ArrivalProcess::Poisson(Exp::new(rate_rps).map_err(|e| EngineError::Arrival(e.to_string()))?)
            }
            Arrival::Gamma { burstiness } => ArrivalProcess::Gamma(
                Gamma::new(burstiness, 1.0 / (rate_rps * burstiness))
                    .map_err(|e| EngineError::Arrival(format!("burstiness {burstiness}: {e}")))?,
            ),
        })
    }

    /// Draws the gap before the next arrival, seconds.
    pub fn next_gap_s<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            ArrivalProcess::Constant { gap_s } => *gap_s,
            ArrivalProcess::Poisson(d) => d.sample(rng),
            ArrivalProcess::Gamma(d) => d.sample(rng),
        }
    }
}

/// Arrival offsets from the start of a step, seconds: 0 for the first request, then cumulative gaps.
#[derive(Debug, Clone)]
pub struct Schedule {
    process: ArrivalProcess,
    rng: StdRng,
    next_s: f64,
}

impl Schedule {
    /// A schedule for `process`, seeded from the run's seed.
    pub fn new(process: ArrivalProcess, seed: u64) -> Self {
        Schedule { process, rng: StdRng::seed_from_u64(seed ^ ARRIVAL_SEED_SALT), next_s: 0.0 }
    }
}

impl Iterator for Schedule {
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        let at = self.next_s;
        self.next_s += self.process.next_gap_s(&mut self.rng);
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 100_000;

    /// Mean and variance of N gaps.
    fn moments(p: &ArrivalProcess) -> (f64, f64) {
        let mut rng = StdRng::seed_from_u64(7);
        let gaps: Vec<f64> = (0..N).map(|_| p.next_gap_s(&mut rng)).collect();
        let mean = gaps.iter().sum::<f64>() / N as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (N - 1) as f64;
        (mean, var)
    }

    #[test]
    fn poisson_gaps_have_mean_and_variance_of_an_exponential() {
        let rate = 4.0;
        let (mean, var) = moments(&ArrivalProcess::new(rate, Arrival::Poisson).unwrap());
        // Exponential(λ): mean 1/λ, variance 1/λ². Standard error of the mean at N = 1e5 is 0.3 %.
        assert!((mean - 0.25).abs() / 0.25 < 0.02, "mean {mean}");
        assert!((var - 0.0625).abs() / 0.0625 < 0.05, "variance {var}");
    }

    #[test]
    fn gamma_gaps_have_the_requested_mean_and_cv2() {
        for shape in [0.25, 1.0, 4.0] {
            let (mean, var) = moments(&ArrivalProcess::new(10.0, Arrival::Gamma { burstiness: shape }).unwrap());
            let cv2 = var / (mean * mean);
            assert!((mean - 0.1).abs() / 0.1 < 0.02, "shape {shape}: mean {mean}");
            assert!((cv2 - 1.0 / shape).abs() * shape < 0.06, "shape {shape}: CV² {cv2}");
        }
    }

    #[test]
    fn constant_gaps_are_exact() {
        let s: Vec<f64> = Schedule::new(ArrivalProcess::new(2.0, Arrival::Constant).unwrap(), 1).take(4).collect();
        assert_eq!(s, [0.0, 0.5, 1.0, 1.5]);
    }

    #[test]
    fn schedules_are_reproducible_and_increasing() {
        let p = ArrivalProcess::new(100.0, Arrival::Poisson).unwrap();
        let a: Vec<f64> = Schedule::new(p.clone(), 3).take(1000).collect();
        let b: Vec<f64> = Schedule::new(p.clone(), 3).take(1000).collect();
        let c: Vec<f64> = Schedule::new(p, 4).take(1000).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[1] >= w[0]));
        assert!((a[999] - 9.99).abs() < 1.0, "1000 arrivals at 100/s take about 10 s, got {}", a[999]);
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(ArrivalProcess::new(0.0, Arrival::Poisson).is_err());
        assert!(ArrivalProcess::new(1.0, Arrival::Gamma { burstiness: 0.0 }).is_err());
        assert!(ArrivalProcess::new(f64::NAN, Arrival::Constant).is_err());
    }
}
