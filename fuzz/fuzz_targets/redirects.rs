//! Runs the discoverer in a world whose every answer comes from the fuzzer: redirects to
//! arbitrary URLs and addresses, errors, timeouts and garbage. The world asserts the
//! invariants (bounded run, no revisit, credentials only over https to trusted hosts, inert
//! after the outcome), so a broken invariant is a crash.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/world/mod.rs"]
mod world;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = world::run(&mut u);
});
