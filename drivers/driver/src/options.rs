//! The caller's settings of a discovery: the request, the credentials, and the driver's
//! network configuration.
//!
//! Both drivers re-export these types, so moving a program from one driver to the other
//! changes the crate name and the `.await`, nothing else.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use autodiscover::{Config, Flavor, Request};
use autodiscover_cache::{CacheStore, FileStore, MemoryStore};

use crate::error::Error;

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
    /// `X-AnchorMailbox: <email>`, which Exchange Online uses to route the request. The header
    /// is left out when the address is not ASCII.
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

    /// Checks that the credentials can be sent in an `Authorization` header.
    ///
    /// No field may contain a control character: in a bearer token a CR LF would end the
    /// header line and start another, and RFC 7617 excludes control characters from Basic
    /// user names and passwords. A Basic user name must not contain `:`, which separates it
    /// from the password. A bearer token must not be empty and must be ASCII without spaces,
    /// which RFC 6750's `b64token` requires (its character set is narrower still).
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] naming the field and the problem, never the value.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |field, reason| Err(Error::InvalidCredentials { field, reason });
        match self {
            Credentials::None => Ok(()),
            Credentials::Basic { username, password } => {
                if username.chars().any(char::is_control) {
                    return invalid("Basic user name", CONTROL_CHARACTER);
                }
                if username.contains(':') {
                    return invalid(
                        "Basic user name",
                        "it contains ':', which Basic authentication uses to separate the user name from the password (RFC 7617); pass a user name without ':'",
                    );
                }
                if password.expose().chars().any(char::is_control) {
                    return invalid("Basic password", CONTROL_CHARACTER);
                }
                Ok(())
            }
            Credentials::Bearer { token } => {
                let token = token.expose();
                if token.chars().any(char::is_control) {
                    return invalid("bearer token", CONTROL_CHARACTER);
                }
                if token.is_empty() {
                    return invalid("bearer token", "it is empty; pass the access token");
                }
                if !token.is_ascii() || token.contains(' ') {
                    return invalid(
                        "bearer token",
                        "it contains a space or a non-ASCII character; pass only the access token, without a \"Bearer \" prefix",
                    );
                }
                Ok(())
            }
        }
    }
}

/// The reason given for a credential that contains a control character.
const CONTROL_CHARACTER: &str = "it contains a control character (such as CR, LF, NUL or a trailing newline); remove it, for example by trimming the line the value was read from";

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
    /// A map kept in memory by the driver's `Client`.
    Memory,
    /// A store the caller provides, for example one shared by several clients.
    Store(Arc<dyn CacheStore>),
    /// No cache: every discovery starts from the protocol's candidates.
    None,
}

impl CacheChoice {
    /// Opens the chosen store, or returns `None` for [`CacheChoice::None`].
    ///
    /// # Errors
    /// [`Error::Cache`] when the default cache file has no location.
    pub fn open(&self) -> Result<Option<Arc<dyn CacheStore>>, Error> {
        Ok(match self {
            CacheChoice::DefaultFile => {
                let store = FileStore::open_default().map_err(|error| Error::Cache {
                    reason: error.to_string(),
                })?;
                Some(Arc::new(store))
            }
            CacheChoice::File(path) => Some(Arc::new(FileStore::new(path.clone()))),
            CacheChoice::Memory => Some(Arc::new(MemoryStore::new())),
            CacheChoice::Store(store) => Some(Arc::clone(store)),
            CacheChoice::None => None,
        })
    }
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

/// Everything a discovery and the driver's `Client` need besides the email address.
///
/// `Options::default()` requests the SOAP flavour with the core's default settings, sends no
/// credentials, uses the system's DNS configuration (`/etc/resolv.conf` on Unix) and Mozilla's
/// roots, and caches endpoints in the default cache file.
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

    /// Builds the core's request for `email` and the configuration to run it with. Without a
    /// cache store (`has_cache` false) the configuration turns the cache off, so that the
    /// core emits no cache action at all.
    ///
    /// # Errors
    /// [`Error::Discovery`] for an address that cannot start a discovery or an unknown
    /// setting name.
    pub fn discovery_request(
        &self,
        email: &str,
        has_cache: bool,
    ) -> Result<(Request, Config), Error> {
        let mut request = Request::new(email)?.flavor(self.flavor);
        if let Some(settings) = &self.settings {
            request = request.settings(settings)?;
        }
        let mut config = self.config.clone();
        if !has_cache {
            config.use_cache = false;
        }
        Ok((request, config))
    }
}

/// Lowercases a host name and drops one trailing dot, as URLs and overrides are compared.
pub fn normalize_host(host: &str) -> String {
    let host = host.trim();
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let credentials = Credentials::basic("alice@example.com", "hunter2");
        let printed = format!("{credentials:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");

        let bearer = Credentials::bearer("eyJ0eXAi.secret");
        assert!(!format!("{bearer:?}").contains("eyJ0eXAi"));
    }

    #[test]
    fn valid_credentials_pass() {
        for credentials in [
            Credentials::None,
            Credentials::basic("CONTOSO\\alice", "p\u{e4}ss word!"),
            Credentials::basic("", ""),
            Credentials::bearer("eyJ0eXAi.eyJhdWQi.c2lnbmF0dXJl-_~+/=="),
        ] {
            assert!(credentials.validate().is_ok(), "{credentials:?}");
        }
    }

    #[test]
    fn invalid_credentials_name_field_not_value() {
        let cases = [
            (
                Credentials::bearer("secret-91\r\nX-Injected: yes"),
                "bearer token",
            ),
            (Credentials::bearer("secret-91\n"), "bearer token"),
            (Credentials::bearer("secret-91\0"), "bearer token"),
            (Credentials::bearer("secret-91\u{7f}"), "bearer token"),
            (Credentials::bearer("Bearer secret-91"), "bearer token"),
            (Credentials::bearer("secret-91\u{e9}"), "bearer token"),
            (Credentials::bearer(""), "bearer token"),
            (
                Credentials::basic("secret-91\r\nX-Injected: yes", "pw"),
                "Basic user name",
            ),
            (Credentials::basic("secret-91:x", "pw"), "Basic user name"),
            (
                Credentials::basic("alice", "secret-91\r\n"),
                "Basic password",
            ),
            (
                Credentials::basic("alice", "secret-91\u{85}"),
                "Basic password",
            ),
        ];
        for (credentials, expected_field) in cases {
            let error = credentials.validate().expect_err("invalid credentials");
            let Error::InvalidCredentials { field, .. } = &error else {
                panic!("expected InvalidCredentials, got {error}");
            };
            assert_eq!(*field, expected_field, "{credentials:?}");
            let message = error.to_string();
            assert!(message.contains(expected_field), "{message}");
            assert!(!message.contains("secret-91"), "{message}");
            assert!(!message.contains("X-Injected"), "{message}");
        }
    }

    #[test]
    fn discovery_request_without_cache_turns_cache_off() {
        let options = Options::new();
        let (_, config) = options
            .discovery_request("alice@example.com", true)
            .unwrap();
        assert_eq!(config.use_cache, options.config.use_cache);
        let (_, config) = options
            .discovery_request("alice@example.com", false)
            .unwrap();
        assert!(!config.use_cache);
    }

    #[test]
    fn discovery_request_rejects_invalid_address() {
        let error = Options::new()
            .discovery_request("not-an-address", true)
            .expect_err("an address without @ is invalid");
        assert!(matches!(error, Error::Discovery(_)), "{error}");
    }

    #[test]
    fn memory_cache_opens_and_none_has_no_store() {
        assert!(CacheChoice::Memory.open().unwrap().is_some());
        assert!(CacheChoice::None.open().unwrap().is_none());
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
