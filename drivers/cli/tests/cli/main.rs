//! Runs the built `autodiscover` binary: replays of recorded transcripts, usage errors, the
//! cache options, and live discoveries against DNS and HTTPS servers on loopback.
//!
//! No test reaches the system resolver or the user's cache: live runs always pass
//! `--nameserver` with the test world's DNS server, and every run gets a private
//! `XDG_CACHE_HOME` and `HOME`.

mod cache;
mod common;
mod escaping;
mod live;
mod pipes;
mod replay;
mod usage;
