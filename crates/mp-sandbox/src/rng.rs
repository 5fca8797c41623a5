//! A tiny deterministic pseudo-random generator (SplitMix64).
//!
//! The dataset must be byte-for-byte identical on every platform and with every version of
//! every dependency, because tests and users compare answers across runs. `rand`'s generators
//! are documented as *not* value-stable across versions, so the sandbox carries its own:
//! SplitMix64 is 5 lines, passes BigCrush, and its finaliser doubles as a bijective 64-bit
//! mixer, which is what makes `$insert_id`s unique by construction.

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// Mixes 64 bits into 64 bits. This is SplitMix64's finaliser; it is a bijection, so distinct
/// inputs always give distinct outputs.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Derives an independent stream seed from a parent seed and a label (a day, a user …).
pub(crate) fn derive(seed: u64, label: u64) -> u64 {
    mix64(seed ^ mix64(label.wrapping_add(GAMMA)))
}

/// SplitMix64: a 64-bit state advanced by a constant, then mixed.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Creates a generator from a seed.
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// Returns the next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// Returns a value in `0..bound` (`bound` > 0).
    ///
    /// Uses Lemire's multiply-shift reduction without the rejection step: the bias is below
    /// `bound / 2^64`, invisible for the small bounds used here, and skipping rejection keeps
    /// the number of draws per call fixed, which keeps the generator easy to reason about.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Picks an index from integer weights (the weights must not all be zero).
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&weight| u64::from(weight)).sum();
        let mut ticket = self.below(total);
        for (index, &weight) in weights.iter().enumerate() {
            let weight = u64::from(weight);
            if ticket < weight {
                return index;
            }
            ticket -= weight;
        }
        weights.len() - 1
    }

    /// Returns a value in `0..bound` skewed towards 0: the smaller of two uniform draws. Used
    /// for "popular first" choices such as items and active users.
    pub(crate) fn skewed_below(&mut self, bound: u64) -> u64 {
        self.below(bound).min(self.below(bound))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_value_stable() {
        // These values pin the algorithm: if they change, every dataset changes.
        let mut rng = SplitMix64::new(42);
        assert_eq!(rng.next_u64(), 0xbdd7_3226_2feb_6e95);
        assert_eq!(rng.next_u64(), 0x28ef_e333_b266_f103);
        assert_eq!(mix64(0), 0);
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(7);
        for bound in 1..200 {
            assert!(rng.below(bound) < bound);
            assert!(rng.skewed_below(bound) < bound);
        }
        assert_eq!(rng.weighted(&[0, 0, 5]), 2);
    }
}
