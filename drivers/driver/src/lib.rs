//! The pieces both network drivers share: options, credentials, TLS roots, error type,
//! Basic/bearer header building.
//!
//! `autodiscover-smol` and `autodiscover-blocking` run the sans-IO [`autodiscover`] core on
//! different runtimes, but take the same [`Options`] and return the same [`Error`]. This
//! crate contains that runtime-independent part, once:
//!
//! - [`Options`] and its builder, [`Credentials`] (checked by [`Credentials::validate`]),
//!   [`Secret`], [`CacheChoice`] (opened by [`CacheChoice::open`]), [`ConnectOverride`]
//!   and [`Roots`]; [`Options::discovery_request`] builds the core's request from them.
//! - [`Recorded`]: the outcome of a recorded discovery with its transcript.
//! - [`tls::client_config`]: the rustls client configuration with the `ring` provider, built
//!   from the chosen roots and an optional CA file.
//! - [`parse_nameserver`] and [`nameserver::check_nameserver`].
//! - [`auth`]: the `Authorization` and `X-AnchorMailbox` headers, and when a request carries
//!   them.
//! - [`header::check_header`]: the check every request header passes before it is written.
//!
//! Sockets, timers, HTTP framing and DNS queries stay in the drivers. This crate depends on
//! no async runtime, so the blocking driver stays free of one.
#![warn(missing_docs)]

pub mod auth;
mod error;
pub mod header;
pub mod nameserver;
mod options;
mod recorded;
pub mod tls;

pub use error::Error;
pub use nameserver::parse_nameserver;
pub use options::{
    normalize_host, CacheChoice, ConnectOverride, Credentials, Options, Roots, Secret,
};
pub use recorded::Recorded;
