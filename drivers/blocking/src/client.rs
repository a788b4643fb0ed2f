//! The [`Client`]: resolver, TLS configuration and cache, kept across discoveries.

use std::sync::Arc;

use autodiscover::{Discovery, Request};
use autodiscover_cache::CacheStore;
use autodiscover_driver::{tls, Credentials, Error, Options, Recorded};
use autodiscover_transcript::Recorder;

use crate::auth::Auth;
use crate::dns::Resolver;
use crate::driver::{self, Run, Shared};
use crate::http::Transport;
use crate::worker::WorkerCount;

/// Runs discoveries on the calling thread and keeps what they can share: the DNS
/// configuration, the TLS configuration and the endpoint cache.
///
/// Each discovery blocks its caller until the outcome; its HTTP requests and DNS lookups run
/// on short-lived worker threads meanwhile. A `Client` is `Send + Sync`, so several threads
/// can run discoveries through one client at once.
///
/// ```no_run
/// use autodiscover_blocking::{Client, Credentials, Options};
///
/// let options = Options::new().credentials(Credentials::basic("alice@example.com", "secret"));
/// let client = Client::new(options)?;
/// let discovery = client.discover("alice@example.com")?;
/// println!("EWS: {:?}", discovery.ews_url);
/// client.close();
/// # Ok::<(), autodiscover_blocking::Error>(())
/// ```
pub struct Client {
    shared: Arc<Shared>,
    options: Options,
}

impl Client {
    /// Builds a client: reads the CA file, reads the DNS configuration and opens the cache
    /// store.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when the credentials cannot be sent in a header,
    /// [`Error::CaFile`], [`Error::InvalidCaFile`] or [`Error::NoRoots`] for the TLS roots,
    /// [`Error::InvalidNameserver`] or [`Error::SystemDns`] for DNS, [`Error::Cache`] when the
    /// default cache file has no location.
    pub fn new(options: Options) -> Result<Self, Error> {
        options.credentials.validate()?;
        let tls = tls::client_config(options.roots, options.ca_file.as_deref())?;
        let resolver = match options.nameserver {
            Some(addr) => Resolver::with_nameserver(addr)?,
            None => Resolver::system()?,
        };
        let cache = options.cache.open()?;
        Ok(Self {
            shared: Arc::new(Shared {
                transport: Transport {
                    tls: Arc::new(tls),
                    resolver,
                    overrides: options.connect_overrides.clone(),
                },
                cache,
                workers: WorkerCount::default(),
            }),
            options,
        })
    }

    /// Discovers the settings of `email` with the options' credentials.
    ///
    /// # Errors
    /// [`Error::Discovery`] when the request is invalid or discovery fails, and
    /// [`Error::Recording`] when [`Options::record_to`] is set and the file cannot be written.
    pub fn discover(&self, email: &str) -> Result<Discovery, Error> {
        self.discover_with(email, &self.options.credentials)
    }

    /// Discovers the settings of `email` with `credentials` instead of the options' ones.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when `credentials` cannot be sent in a header, and
    /// otherwise as [`Client::discover`].
    pub fn discover_with(
        &self,
        email: &str,
        credentials: &Credentials,
    ) -> Result<Discovery, Error> {
        credentials.validate()?;
        let Some(path) = self.options.record_to.as_ref() else {
            let (request, config) = self
                .options
                .discovery_request(email, self.shared.cache.is_some())?;
            return Ok(self.run(request, config, credentials, None)?);
        };

        let recorded = self.record(email, credentials)?;
        std::fs::write(path, recorded.transcript.render()).map_err(|source| Error::Recording {
            path: path.clone(),
            source,
        })?;
        Ok(recorded.outcome?)
    }

    /// Discovers the settings of `email` with the options' credentials and returns the
    /// transcript of the session with the outcome.
    ///
    /// # Errors
    /// [`Error::Discovery`] only for a request that cannot start (an invalid address or an
    /// unknown setting); a failed discovery is in [`Recorded::outcome`].
    pub fn discover_recorded(&self, email: &str) -> Result<Recorded, Error> {
        self.record(email, &self.options.credentials)
    }

    fn record(&self, email: &str, credentials: &Credentials) -> Result<Recorded, Error> {
        let (request, config) = self
            .options
            .discovery_request(email, self.shared.cache.is_some())?;
        let mut recorder = Recorder::new(&request, &config);
        let outcome = self.run(request, config, credentials, Some(&mut recorder));
        Ok(Recorded {
            outcome,
            transcript: recorder.finish(),
        })
    }

    fn run(
        &self,
        request: Request,
        config: autodiscover::Config,
        credentials: &Credentials,
        recorder: Option<&mut Recorder>,
    ) -> Result<Discovery, autodiscover::Error> {
        let run = Run {
            request,
            config,
            auth: Auth {
                credentials: credentials.clone(),
                basic_up_front: self.options.basic_up_front,
            },
            recorder,
        };
        driver::run(&self.shared, run)
    }

    /// Does nothing: this driver opens one connection per request and keeps no idle ones.
    /// It exists so that code written for the smol driver's `Client` compiles unchanged.
    pub fn close(&self) {}

    /// Removes every entry of the endpoint cache, if the client has one.
    pub fn clear_cache(&self) {
        if let Some(cache) = &self.shared.cache {
            cache.clear();
        }
    }

    /// Returns the endpoint cache store, if the client has one.
    pub fn cache(&self) -> Option<&Arc<dyn CacheStore>> {
        self.shared.cache.as_ref()
    }

    /// Returns the number of idle keep-alive connections, which is always 0 for this driver
    /// (see [`Client::close`]).
    pub fn idle_connections(&self) -> usize {
        0
    }

    /// Returns how many worker threads of this client are running, including those of
    /// finished discoveries that are still winding down.
    ///
    /// A worker left behind by a finished discovery has had its socket shut down, so it ends
    /// within moments. One waiting on DNS ends at the latest one request timeout after it
    /// started.
    pub fn running_workers(&self) -> usize {
        self.shared.workers.running()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .field("running_workers", &self.running_workers())
            .finish_non_exhaustive()
    }
}
