//! What every discovery of one [`Client`](crate::Client) shares: the resolver, the TLS
//! configuration, the connect overrides, the connection pool and the cache store.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::cache_calls::CacheCalls;
use crate::conn::Pool;
use async_std_resolver::AsyncStdResolver;
use autodiscover_driver::{normalize_host, ConnectOverride};

pub(crate) struct Shared {
    pub(crate) resolver: AsyncStdResolver,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) overrides: Vec<ConnectOverride>,
    pub(crate) pool: Pool,
    pub(crate) cache: Option<CacheCalls>,
}

impl Shared {
    /// Returns the address that replaces `host:port`, if an override names them.
    pub(crate) fn connect_override(&self, host: &str, port: u16) -> Option<SocketAddr> {
        let host = normalize_host(host);
        self.overrides
            .iter()
            .find(|entry| entry.port == port && normalize_host(&entry.host) == host)
            .map(|entry| entry.addr)
    }
}
