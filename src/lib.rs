//! A sans-IO Microsoft Exchange Autodiscover client.
//!
//! Autodiscover takes a mailbox address and finds the mailbox's EWS URL and settings. This
//! crate implements the whole client side of the protocol as a deterministic state machine,
//! [`Discoverer`]: both flavours (SOAP `GetUserSettings`, MS-OXWSADISC, and POX with the
//! Outlook 2006a schema, MS-OXDSCLI), the candidate steps 1 to 4 with the DNS address check and
//! the SRV lookup, HTTP and XML redirects, address redirects, loop and hop limits, credential
//! trust, error codes, busy retries, the endpoint cache and its purge, and the parallel probing
//! of candidates.
//!
//! The crate does no IO and reads no clock. The discoverer emits [`Action`]s (an HTTP request,
//! a DNS lookup, a cache read or write) and consumes [`Event`]s (their results); time is an
//! argument of every call that needs it. Drivers in sibling crates run it over real sockets
//! (smol, or blocking `std`) or over a recorded transcript.
//!
//! Credentials never enter this crate: each [`HttpRequest`] says whether the driver may attach
//! them ([`HttpRequest::credentials_allowed`]), which is true only for https URLs on trusted
//! hosts. Logs go through `tracing` and contain hosts and URLs, never a secret.
//!
//! # A drive loop
//!
//! A minimal driver: it answers every action at once. Here every DNS lookup fails and every
//! request is refused, so the discovery ends with [`Error::NotFound`] and its trace.
//!
//! ```
//! use std::time::Instant;
//! use autodiscover::{
//!     Action, Config, DnsError, Discoverer, Error, Event, Request, TransportError,
//! };
//!
//! let request = Request::new("alice@example.com")?;
//! let mut now = Instant::now();
//! let mut discoverer = Discoverer::new(request, Config::default(), now);
//!
//! let outcome = loop {
//!     // Step 1: perform every action the discoverer asks for. A real driver runs them
//!     // concurrently and feeds each result back as it arrives.
//!     let mut events = Vec::new();
//!     while let Some(action) = discoverer.poll_action() {
//!         let event = match action {
//!             Action::CacheGet { id, .. } => Event::CacheGet { id, entry: None },
//!             Action::CachePut { id, .. } => Event::CachePut { id },
//!             Action::DnsA { id, .. } => Event::DnsA { id, result: Err(DnsError::NoSuchName) },
//!             Action::DnsSrv { id, .. } => Event::DnsSrv { id, result: Err(DnsError::NoSuchName) },
//!             Action::HttpRequest { id, .. } => Event::HttpResponse {
//!                 id,
//!                 result: Err(TransportError::ConnectionRefused),
//!             },
//!         };
//!         events.push(event);
//!     }
//!
//!     // Step 2: stop once there is an outcome.
//!     if let Some(outcome) = discoverer.poll_outcome() {
//!         break outcome;
//!     }
//!
//!     // Step 3: feed the results, or wake the discoverer at its next deadline.
//!     if events.is_empty() {
//!         match discoverer.poll_timeout() {
//!             Some(deadline) => {
//!                 now = now.max(deadline);
//!                 discoverer.handle_timeout(now);
//!             }
//!             None => unreachable!("a running discovery always has a deadline"),
//!         }
//!     }
//!     for event in events {
//!         discoverer.handle_event(event, now);
//!     }
//! };
//!
//! let error = outcome.unwrap_err();
//! assert!(matches!(error, Error::NotFound { .. }));
//! assert!(!error.trace().is_empty());
//! # Ok::<(), autodiscover::Error>(())
//! ```
//!
//! # Modules
//! [`soap`] and [`pox`] build request bodies and parse responses into an [`Answer`];
//! [`settings`] names the requestable settings; [`config`] holds the [`Config`] and the named
//! limits that bound every discovery; [`trace`] describes what each attempt did.
#![warn(missing_docs)]

mod action;
pub mod answer;
pub mod challenge;
pub mod config;
mod discoverer;
mod error;
mod event;
mod outcome;
pub mod pox;
mod request;
pub mod settings;
pub mod soap;
mod srv;
pub mod trace;
mod trust;
mod xml;

pub use action::{Action, ActionId, CacheEntry, HttpRequest, Method};
pub use answer::{Answer, ErrorCode, ErrorLevel, ResponseError, ServerError};
pub use config::{Config, Strategy, UntrustedRedirects};
pub use discoverer::Discoverer;
pub use error::{Challenge, Error};
pub use event::{DnsError, Event, HttpResponse, SrvRecord, TransportError};
pub use outcome::{Discovery, Redirect, Warning};
pub use request::{EmailAddress, Flavor, Request};
pub use settings::{SettingName, SettingValue, Settings};
pub use trace::{Attempt, AttemptResult, Step};
