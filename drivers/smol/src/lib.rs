//! Runs the sans-IO [`autodiscover`] core over real sockets on smol.
//!
//! The core decides what to do; this crate only does it. It performs every
//! [`Action`](autodiscover::Action) the core emits and feeds back exactly one
//! [`Event`](autodiscover::Event) for each:
//!
//! - **HTTP/1.1** through async-h1's request encoder and the driver's own response reader
//!   (chunked bodies included), over TCP or TLS (rustls 0.23 with the `ring` provider, through
//!   futures-rustls). Server certificates chain to Mozilla's roots by default, or to the
//!   platform's, plus an optional CA file. Redirects are never followed here (the core follows
//!   them), bodies are read up to the request's `max_response_bytes`, and gzip and deflate
//!   `Content-Encoding` is undone with the decoded size bounded by the same limit. Idle
//!   connections are kept alive for later requests.
//! - **DNS** through hickory's async-std resolver: the system configuration, or one given
//!   nameserver over UDP and TCP.
//! - **Credentials** only where the core allows them: a bearer token (with
//!   `X-AnchorMailbox` when the address is ASCII) on every allowed request, Basic after a 401
//!   that offers it (or up front when asked). Credentials with control characters are
//!   rejected before anything is sent. No credential is ever logged or recorded.
//! - **Cache** reads and writes through an [`autodiscover_cache::CacheStore`], bounded by the
//!   request timeout and the discovery's deadline.
//! - **Recording**: a discovery can be recorded as an [`autodiscover_transcript`] transcript.
//!
//! ```no_run
//! use autodiscover_smol::{discover, Credentials, Options};
//!
//! let options = Options::new().credentials(Credentials::bearer("eyJ0eXAi..."));
//! let discovery = smol::block_on(discover("alice@example.com", options))?;
//! println!("EWS URL: {:?} (from {})", discovery.ews_url, discovery.endpoint);
//! # Ok::<(), autodiscover_smol::Error>(())
//! ```
//!
//! # Logging
//! Through `tracing`: each action's result at `debug` (the core logs each action it emits),
//! request and response heads at `trace` with credential headers redacted, and bodies at
//! `trace` under the target `wire::http`.
//!
//! # Known limitations
//! - HTTP/1.1 only; no proxy support.
//! - Addresses of one host are tried one after another, not raced (no Happy Eyeballs).
//! - NTLM and Negotiate challenges are reported to the core but not answered.
#![warn(missing_docs)]

mod cache_calls;
mod chunked;
mod client;
mod conn;
mod decode;
mod dns;
mod driver;
mod head;
mod http;
mod shared;
#[cfg(test)]
mod wire_tests;

pub use autodiscover_driver::{
    parse_nameserver, CacheChoice, ConnectOverride, Credentials, Error, Options, Recorded, Roots,
    Secret,
};
pub use client::Client;

pub use autodiscover::{Config, Discovery, Flavor, Strategy};

/// Runs one discovery with a client built for it, then closes its connections.
///
/// A program that discovers more than once should keep a [`Client`], which reuses
/// connections and the resolver's cache.
///
/// # Errors
/// As [`Client::new`] and [`Client::discover`].
pub async fn discover(email: &str, options: Options) -> Result<Discovery, Error> {
    let client = Client::new(options)?;
    let outcome = client.discover(email).await;
    client.close();
    outcome
}
