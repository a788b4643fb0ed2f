//! The caller's settings of a discovery: the request, the credentials, and the driver's
//! network configuration.
//!
//! The names and fields match the smol driver's `Options`, so that moving a program from one
//! driver to the other changes the crate name and the `.await`, nothing else.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use autodiscover::{Config, Flavor};
use autodiscover_cache::CacheStore;

/// A secret string, such as a password or a bearer token.
///
/// `Debug` and `Display` print `[redacted]`, so a secret can sit in a struct that derives
/// `Debug` without reaching a log. [`Secret::expose`] returns the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value, to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The caller's credentials for the Autodiscover endpoints.
///
/// The driver attaches them only to requests whose
/// [`credentials_allowed`](autodiscover::HttpRequest::credentials_allowed) is true, which the
/// core sets only for https URLs on trusted hosts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No credentials: every request goes out anonymously.
    #[default]
    None,
    /// HTTP Basic (RFC 7617), sent after a 401 that offers Basic, or up front when
    /// [`Options::basic_up_front`] is set.
    Basic {
        /// The user name, usually the email address or `DOMAIN\user`.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth 2.0 bearer token (RFC 6750), sent with every allowed request together with
    /// `X-AnchorMailbox: <email>`, which Exchange Online uses to route the request. The
    /// anchor header is left out when the address is not ASCII.
    Bearer {
        /// The access token.
        token: Secret,
    },
}

impl Credentials {
    /// Creates Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Creates bearer-token credentials.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Credentials::Bearer {
            token: token.into(),
        }
    }
}

/// The certificate authorities that TLS server certificates must chain to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Roots {
    /// Mozilla's root program, compiled in through the `webpki-roots` crate.
    #[default]
    WebPki,
    /// The operating system's store, read through `rustls-native-certs` when the client is
    /// built.
    Native,
    /// None: only the CA file of [`Options::ca_file`] is trusted.
    None,
}

/// The store that remembers discovered endpoints between discoveries.
#[derive(Clone, Default)]
pub enum CacheChoice {
    /// A JSON file at the cache crate's default path (under `$XDG_CACHE_HOME` or
    /// `~/.cache`), shared by every process of the user and by both drivers.
    #[default]
    DefaultFile,
    /// A JSON file at this path.
    File(PathBuf),
    /// A map kept in memory by the [`Client`](crate::Client).
    Memory,
    /// A store the caller provides, for example one shared by several clients.
    Store(Arc<dyn CacheStore>),
    /// No cache: every discovery starts from the protocol's candidates.
    None,
}

impl fmt::Debug for CacheChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheChoice::DefaultFile => f.write_str("DefaultFile"),
            CacheChoice::File(path) => f.debug_tuple("File").field(path).finish(),
            CacheChoice::Memory => f.write_str("Memory"),
            CacheChoice::Store(_) => f.write_str("Store(..)"),
            CacheChoice::None => f.write_str("None"),
        }
    }
}

/// A connect override in the manner of curl's `--connect-to`: a connection to `host:port`
/// goes to `addr` instead, while the `Host` header, TLS SNI and the certificate check still
/// use `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOverride {
    /// The host name of the URL, compared case-insensitively and without a trailing dot.
    pub host: String,
    /// The port of the URL (443 for https and 80 for http unless the URL names another).
    pub port: u16,
    /// The address to connect to instead.
    pub addr: SocketAddr,
}

/// Everything a discovery and its [`Client`](crate::Client) need besides the email address.
///
/// `Options::default()` requests the SOAP flavour with the core's default settings, sends no
/// credentials, uses the system's DNS configuration (`/etc/resolv.conf`) and Mozilla's roots,
/// and caches endpoints in the default cache file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The protocol flavour.
    pub flavor: Flavor,
    /// The SOAP settings to request; `None` keeps the core's default set.
    pub settings: Option<Vec<String>>,
    /// The credentials.
    pub credentials: Credentials,
    /// Whether Basic credentials go out with the first request, without waiting for a 401
    /// that offers Basic. Off by default, so a server that needs no credentials never
    /// receives the password.
    pub basic_up_front: bool,
    /// The core's configuration: strategy, timeouts, trusted hosts, size limit.
    pub config: Config,
    /// A nameserver to ask over UDP and TCP, in place of the system's configuration.
    pub nameserver: Option<SocketAddr>,
    /// The roots that server certificates must chain to.
    pub roots: Roots,
    /// A PEM file of extra CA certificates to trust besides [`Options::roots`].
    pub ca_file: Option<PathBuf>,
    /// Connect overrides, looked up before DNS.
    pub connect_overrides: Vec<ConnectOverride>,
    /// The endpoint cache.
    pub cache: CacheChoice,
    /// A file to write the transcript of every discovery to, overwritten by each one.
    pub record_to: Option<PathBuf>,
}

impl Options {
    /// Returns the default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the protocol flavour.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// Sets the SOAP settings to request, replacing the core's default set.
    pub fn settings<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sends Basic credentials with the first allowed request instead of after a challenge.
    pub fn basic_up_front(mut self, up_front: bool) -> Self {
        self.basic_up_front = up_front;
        self
    }

    /// Sets the core's configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Asks this nameserver (UDP, falling back to TCP) instead of the system's.
    pub fn nameserver(mut self, addr: SocketAddr) -> Self {
        self.nameserver = Some(addr);
        self
    }

    /// Sets the roots that server certificates must chain to.
    pub fn roots(mut self, roots: Roots) -> Self {
        self.roots = roots;
        self
    }

    /// Trusts the CA certificates of this PEM file as well.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Connects to `addr` whenever a URL names `host` and `port`, replacing an earlier
    /// override of the same host and port.
    pub fn connect_to(mut self, host: impl Into<String>, port: u16, addr: SocketAddr) -> Self {
        let host = normalize_host(&host.into());
        self.connect_overrides
            .retain(|other| !(other.host == host && other.port == port));
        self.connect_overrides
            .push(ConnectOverride { host, port, addr });
        self
    }

    /// Sets the endpoint cache.
    pub fn cache(mut self, cache: CacheChoice) -> Self {
        self.cache = cache;
        self
    }

    /// Writes the transcript of each discovery to `path`.
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }
}

/// Lowercases a host name and drops one trailing dot, as URLs and overrides are compared.
pub(crate) fn normalize_host(host: &str) -> String {
    let host = host.trim();
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_is_redacted() {
        let basic = Credentials::basic("alice@example.com", "hunter2");
        let printed = format!("{basic:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");

        let bearer = Credentials::bearer("eyJ0eXAi.secret");
        let printed = format!("{bearer:?}");
        assert!(!printed.contains("eyJ0eXAi"), "{printed}");
    }

    #[test]
    fn connect_to_replaces_same_host_and_port() {
        let first: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let second: SocketAddr = "127.0.0.1:2000".parse().unwrap();
        let options = Options::new()
            .connect_to("Mail.Example.com.", 443, first)
            .connect_to("mail.example.com", 443, second)
            .connect_to("mail.example.com", 80, first);
        assert_eq!(options.connect_overrides.len(), 2);
        assert_eq!(options.connect_overrides[0].host, "mail.example.com");
        assert_eq!(options.connect_overrides[0].port, 443);
        assert_eq!(options.connect_overrides[0].addr, second);
        assert_eq!(options.connect_overrides[1].port, 80);
    }
}
