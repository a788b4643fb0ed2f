//! The result of a recorded discovery.

use autodiscover::Discovery;
use autodiscover_transcript::Transcript;

/// The outcome of a recorded discovery and its transcript.
#[derive(Debug)]
pub struct Recorded {
    /// The discovery's outcome.
    pub outcome: Result<Discovery, autodiscover::Error>,
    /// The transcript of the discovery, with the values of secret-bearing headers redacted.
    /// The credentials the driver attaches are never part of it.
    pub transcript: Transcript,
}
