//! Property test: the discoverer keeps its invariants in many seeded random hostile worlds.
//!
//! The same world runs under cargo-fuzz as the `redirects` target; this test gives the stable
//! toolchain a fixed, reproducible sample of it. A failure prints the seed to replay.

mod world;

use arbitrary::Unstructured;

/// Number of worlds per run: enough to reach every answer kind many times while the test stays
/// under a few seconds in a debug build.
const WORLDS: u64 = 20_000;

/// Input bytes per world, enough for dozens of answers.
const BYTES_PER_WORLD: usize = 2048;

/// Fills `buffer` from a SplitMix64 stream seeded with `seed`.
fn fill(seed: u64, buffer: &mut [u8]) {
    let mut state = seed;
    for chunk in buffer.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let bytes = z.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

#[test]
fn random_worlds_keep_invariants() {
    let mut buffer = vec![0u8; BYTES_PER_WORLD];
    let mut succeeded = 0;
    let mut kinds = std::collections::BTreeMap::new();
    for seed in 0..WORLDS {
        fill(seed, &mut buffer);
        let mut u = Unstructured::new(&buffer);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| world::run(&mut u)));
        let summary = match result {
            Ok(Ok(summary)) => summary,
            Ok(Err(error)) => panic!("world {seed} could not be built: {error}"),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                    .unwrap_or_default();
                panic!("invariant broken in world seed {seed}: {message}");
            }
        };
        if summary.succeeded {
            succeeded += 1;
        }
        if let Some(kind) = summary.error_kind {
            *kinds.entry(kind).or_insert(0) += 1;
        }
    }
    println!("{succeeded} of {WORLDS} worlds succeeded; failures by kind: {kinds:?}");
    // The sample must exercise both ends, or the world has stopped being interesting.
    assert!(succeeded > 0, "no world succeeded: {kinds:?}");
    assert!(kinds.len() >= 4, "too few distinct failures: {kinds:?}");
}
