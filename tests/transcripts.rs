//! Replays every transcript under `tests/transcripts/` through the real discoverer, checks its
//! `expect` lines and compares its log with the snapshot in `tests/snapshots/`.
//!
//! To add a case, write `tests/transcripts/<name>.transcript` (the format is documented in the
//! `autodiscover-transcript` crate), run `INSTA_UPDATE=always cargo test --test transcripts`
//! locally, and review the new `.snap` file before committing it. With `CI=true`, insta only
//! compares and never writes snapshots.

use std::path::Path;

use autodiscover_transcript as transcript;

/// Prefix of the snapshot files this test binary writes.
const SNAPSHOT_PREFIX: &str = "transcripts__replay@";

#[test]
fn replay() {
    let mut failures = Vec::new();
    insta::glob!("transcripts/*.transcript", |path| {
        match run(path) {
            Ok(log) => insta::assert_snapshot!(log),
            Err(message) => {
                // Printed at once as well, because insta's glob panics on snapshot failures
                // before the summary below runs.
                let failure = format!("{}:\n{message}", path.display());
                eprintln!("{failure}\n");
                failures.push(failure);
            }
        }
    });
    assert!(
        failures.is_empty(),
        "{} transcript(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Replays one transcript and checks its expectations; returns the log, or why it failed.
fn run(path: &Path) -> Result<String, String> {
    let transcript = transcript::Transcript::load(path).map_err(|error| error.to_string())?;
    if transcript.expectations.is_empty() {
        return Err("the transcript has no `expect` line; state at least the outcome".to_owned());
    }
    let replay = transcript::replay(&transcript).map_err(|error| error.to_string())?;
    let failures = replay.check(&transcript.expectations);
    if !failures.is_empty() {
        let lines: Vec<String> = failures.iter().map(ToString::to_string).collect();
        return Err(format!("{}\n\nlog:\n{}", lines.join("\n"), replay.log()));
    }
    Ok(replay.log().to_owned())
}

/// Plain `cargo test` ignores insta.yaml's `test.unreferenced`, so this test rejects snapshots
/// whose transcript no longer exists.
#[test]
fn every_snapshot_has_transcript() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let Ok(snapshots) = std::fs::read_dir(tests.join("snapshots")) else {
        return;
    };
    let mut stale = Vec::new();
    for file in snapshots {
        let name = file.expect("the snapshot folder is readable").file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(SNAPSHOT_PREFIX) else {
            continue;
        };
        let transcript = rest.strip_suffix(".snap").unwrap_or(rest);
        if !tests.join("transcripts").join(transcript).is_file() {
            stale.push(name.into_owned());
        }
    }
    stale.sort();
    assert!(
        stale.is_empty(),
        "snapshots without a transcript in tests/transcripts/; delete them: {}",
        stale.join(", ")
    );
}
