//! Conversation prompts: one per meeting, rotating without repeats.
//!
//! Each series gets its own fixed shuffle of the configured prompts (seeded from the
//! series id), walked by occurrence index. Walking one permutation cyclically means a
//! prompt comes back only after every other prompt was used, so no prompt repeats within
//! `len - 1` consecutive meetings (the promise is `min(len - 1, 4)`), the choice is the
//! same however often a brief is re-rendered, and different pairs see different orders.

use sha2::{Digest, Sha256};

use crate::model::SeriesId;

/// The index (into `prompts`) of the prompt for the meeting with this index in its
/// series; `None` when there are no prompts.
pub fn choose_prompt(
    prompts: &[String],
    series: &SeriesId,
    occurrence_index: u64,
) -> Option<usize> {
    if prompts.is_empty() {
        return None;
    }
    let order = permutation(prompts.len(), series);
    let slot = occurrence_index % prompts.len() as u64;
    // `slot < order.len()`, so the lookup cannot miss; `get` keeps it panic-free anyway.
    order.get(usize::try_from(slot).ok()?).copied()
}

/// A Fisher-Yates shuffle of `0..len`, seeded by the series id.
fn permutation(len: usize, series: &SeriesId) -> Vec<usize> {
    let digest = Sha256::digest(series.0.as_bytes());
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    let mut state = u64::from_le_bytes(seed);
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// SplitMix64: a tiny, well-mixed generator; plenty for shuffling a handful of prompts.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("prompt {i}")).collect()
    }

    #[test]
    fn no_prompts_means_no_choice() {
        assert_eq!(choose_prompt(&[], &SeriesId("a".into()), 3), None);
    }

    #[test]
    fn a_prompt_never_repeats_within_the_recent_meetings_of_a_pair() {
        for n in 1..=9 {
            let list = prompts(n);
            let window = (n - 1).min(4);
            for series in ["3f9a0c21e4", "0000000000", "abc"] {
                let series = SeriesId(series.into());
                let chosen: Vec<usize> = (0..60)
                    .map(|i| choose_prompt(&list, &series, i).unwrap())
                    .collect();
                for (i, pick) in chosen.iter().enumerate() {
                    assert!(*pick < n);
                    let recent = &chosen[i.saturating_sub(window)..i];
                    assert!(!recent.contains(pick), "n={n} {series} at {i}: {chosen:?}");
                }
            }
        }
    }

    #[test]
    fn every_prompt_is_used_once_per_round() {
        let list = prompts(7);
        let series = SeriesId("3f9a0c21e4".into());
        let mut round: Vec<usize> = (0..7)
            .map(|i| choose_prompt(&list, &series, i).unwrap())
            .collect();
        round.sort_unstable();
        assert_eq!(round, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn the_choice_is_deterministic_and_differs_between_pairs() {
        let list = prompts(8);
        let a = SeriesId("3f9a0c21e4".into());
        let b = SeriesId("77aa0c21e4".into());
        assert_eq!(choose_prompt(&list, &a, 5), choose_prompt(&list, &a, 5));
        let order =
            |s: &SeriesId| -> Vec<_> { (0..8).map(|i| choose_prompt(&list, s, i)).collect() };
        assert_ne!(order(&a), order(&b));
    }
}
