//! Runs the sans-IO [`autodiscover`] core on plain `std`, with blocking sockets and threads
//! and no async runtime.
//!
//! The core decides what to do; this crate only does it. It performs every
//! [`Action`](autodiscover::Action) the core emits and feeds back exactly one
//! [`Event`](autodiscover::Event) for each:
//!
//! - **HTTP/1.1** over `std::net::TcpStream`, or TLS through rustls 0.23 with the `ring`
//!   provider. Response heads are parsed by `httparse`; requests are written here. Server
//!   certificates chain to Mozilla's roots by default, or to the platform's, plus an optional
//!   CA file. Redirects are never followed here (the core follows them), bodies are read up to
//!   the request's `max_response_bytes`, and gzip and deflate `Content-Encoding` is undone
//!   through `flate2` with the decoded size bounded by the same limit.
//! - **DNS** as a stub resolver: queries encoded by `hickory-proto`, sent over UDP and again
//!   over TCP when the answer is truncated, to one given nameserver or to those of
//!   `/etc/resolv.conf` (read by the `resolv-conf` crate).
//! - **Credentials** only where the core allows them: a bearer token (with
//!   `X-AnchorMailbox` when the address is ASCII) on every allowed request, Basic after a 401
//!   that offers it (or up front when asked). Credentials with control characters are
//!   rejected before anything is sent. No credential is ever logged or recorded.
//! - **Cache** reads and writes through an [`autodiscover_cache::CacheStore`], in the same
//!   file format as the smol driver, so both can share one file.
//! - **Recording**: a discovery can be recorded as an [`autodiscover_transcript`] transcript.
//!
//! ```no_run
//! use autodiscover_blocking::{discover, Credentials, Options};
//!
//! let options = Options::new().credentials(Credentials::bearer("eyJ0eXAi..."));
//! let discovery = discover("alice@example.com", options)?;
//! println!("EWS URL: {:?} (from {})", discovery.ews_url, discovery.endpoint);
//! # Ok::<(), autodiscover_blocking::Error>(())
//! ```
//!
//! # Which driver
//! Both drivers take the same [`Options`] and offer the same [`Client`] methods and the same
//! one-call [`discover`]; switching is a change of crate name plus or minus `.await`.
//!
//! - Pick **this crate** for a program without an async runtime: a command-line tool, a
//!   synchronous service, a build script, or a binding for another language. It pulls in no
//!   executor, reactor or async resolver: 91 crates in its dependency tree against the smol
//!   driver's 166 (counted with `cargo tree -e normal` when this was written).
//! - Pick **`autodiscover-smol`** for a program that already runs async code, or that runs
//!   many discoveries at once: it multiplexes them on a reactor instead of spending a thread
//!   per outstanding request, and it keeps idle connections alive between requests.
//!
//! # Threads and deadlines
//! [`Client::discover`] runs the core's loop on the calling thread. Each HTTP request and DNS
//! lookup runs on its own worker thread, so the core's parallel strategy probes candidates at
//! the same time here too. Events come back over a channel, which the loop waits on with
//! `recv_timeout` until the core's next deadline. Every socket operation has a timeout that
//! ends at the request's deadline (the core's `request_timeout` after the request started).
//! When the outcome is ready, the loop returns at once: it does not join the workers still
//! running, but shuts their sockets down and drops their results.
//! [`Client::running_workers`] counts them.
//!
//! # Logging
//! Through `tracing`: each action's result at `debug` (the core logs each action it emits),
//! the outcome at `info`, and bodies at `trace` under the target `wire::http`. Request
//! headers are not logged, so the credential headers never are.
//!
//! # Known limitations
//! - HTTP/1.1 only, one connection per request, no proxy support.
//! - Addresses of one host are tried one after another, not raced (no Happy Eyeballs).
//! - NTLM and Negotiate challenges are reported to the core but not answered.
//! - The system resolver configuration is `/etc/resolv.conf` only: `/etc/hosts`, search
//!   domains and platforms without that file (Windows) are not covered; pass
//!   [`Options::nameserver`] there.
#![warn(missing_docs)]

mod auth;
mod body;
mod client;
mod dns;
mod driver;
mod http;
mod worker;

#[cfg(test)]
mod wire_tests;

pub use autodiscover_driver::{
    parse_nameserver, CacheChoice, ConnectOverride, Credentials, Error, Options, Recorded, Roots,
    Secret,
};
pub use client::Client;

pub use autodiscover::{Config, Discovery, Flavor, Strategy};

/// Runs one discovery with a client built for it.
///
/// A program that discovers more than once should keep a [`Client`], which keeps the TLS
/// configuration, the DNS configuration and a memory cache between discoveries.
///
/// # Errors
/// As [`Client::new`] and [`Client::discover`].
pub fn discover(email: &str, options: Options) -> Result<Discovery, Error> {
    let client = Client::new(options)?;
    let outcome = client.discover(email);
    client.close();
    outcome
}
