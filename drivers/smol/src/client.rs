//! The [`Client`]: resolver, TLS, connection pool and cache, kept across discoveries.

use std::sync::Arc;

use autodiscover::{Discovery, Request};
use autodiscover_cache::CacheStore;
use autodiscover_driver::{tls, Credentials, Error, Options, Recorded};
use autodiscover_transcript::Recorder;
use tracing::debug;

use crate::cache_calls::CacheCalls;
use crate::conn::Pool;
use crate::dns;
use crate::driver::{self, Run};
use crate::shared::Shared;

/// Runs discoveries on smol and keeps what they can share: the DNS resolver, the TLS
/// configuration, idle keep-alive connections and the endpoint cache.
///
/// The discovery methods are `async` and need no particular executor for the driver's own
/// work (connections and timers use smol's reactor thread, which starts on first use); DNS
/// runs on async-std's executor inside hickory's resolver. A `Client` is `Send + Sync`, so
/// one can serve concurrent discoveries.
///
/// ```no_run
/// use autodiscover_smol::{Client, Credentials, Options};
///
/// let options = Options::new().credentials(Credentials::basic("alice@example.com", "secret"));
/// let client = Client::new(options)?;
/// let discovery = smol::block_on(client.discover("alice@example.com"))?;
/// println!("EWS: {:?}", discovery.ews_url);
/// client.close();
/// # Ok::<(), autodiscover_smol::Error>(())
/// ```
pub struct Client {
    shared: Arc<Shared>,
    options: Options,
}

impl Client {
    /// Builds a client: reads the CA file, sets up the resolver and opens the cache store.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when the credentials cannot be sent in a header,
    /// [`Error::CaFile`], [`Error::InvalidCaFile`] or [`Error::NoRoots`] for the TLS roots,
    /// [`Error::InvalidNameserver`] or [`Error::SystemDns`] for DNS, [`Error::Cache`] when the
    /// default cache file has no location.
    pub fn new(options: Options) -> Result<Self, Error> {
        options.credentials.validate()?;
        let tls = tls::client_config(options.roots, options.ca_file.as_deref())?;
        let resolver = dns::resolver(options.nameserver)?;
        let cache = options.cache.open()?;
        Ok(Self {
            shared: Arc::new(Shared {
                resolver,
                tls: Arc::new(tls),
                overrides: options.connect_overrides.clone(),
                pool: Pool::default(),
                cache: cache.map(CacheCalls::new),
            }),
            options,
        })
    }

    /// Discovers the settings of `email` with the options' credentials.
    ///
    /// # Errors
    /// [`Error::Discovery`] when the request is invalid or discovery fails, and
    /// [`Error::Recording`] when [`Options::record_to`] is set and the file cannot be written.
    pub async fn discover(&self, email: &str) -> Result<Discovery, Error> {
        self.discover_with(email, &self.options.credentials).await
    }

    /// Discovers the settings of `email` with `credentials` instead of the options' ones.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when `credentials` cannot be sent in a header, and
    /// otherwise as [`Client::discover`].
    pub async fn discover_with(
        &self,
        email: &str,
        credentials: &Credentials,
    ) -> Result<Discovery, Error> {
        credentials.validate()?;
        let Some(path) = self.options.record_to.as_ref() else {
            let (request, config) = self
                .options
                .discovery_request(email, self.shared.cache.is_some())?;
            return Ok(self.run(request, config, credentials, None).await?);
        };

        let recorded = self.record(email, credentials).await?;
        let text = recorded.transcript.render();
        let write = {
            let path = path.clone();
            smol::unblock(move || std::fs::write(&path, text)).await
        };
        write.map_err(|source| Error::Recording {
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
    pub async fn discover_recorded(&self, email: &str) -> Result<Recorded, Error> {
        self.record(email, &self.options.credentials).await
    }

    async fn record(&self, email: &str, credentials: &Credentials) -> Result<Recorded, Error> {
        let (request, config) = self
            .options
            .discovery_request(email, self.shared.cache.is_some())?;
        let mut recorder = Recorder::new(&request, &config);
        let outcome = self
            .run(request, config, credentials, Some(&mut recorder))
            .await;
        Ok(Recorded {
            outcome,
            transcript: recorder.finish(),
        })
    }

    async fn run(
        &self,
        request: Request,
        config: autodiscover::Config,
        credentials: &Credentials,
        recorder: Option<&mut Recorder>,
    ) -> Result<Discovery, autodiscover::Error> {
        let run = Run {
            request,
            config,
            credentials,
            basic_up_front: self.options.basic_up_front,
            recorder,
        };
        driver::run(&self.shared, run).await
    }

    /// Closes every idle keep-alive connection. The client stays usable; later discoveries
    /// open new connections.
    pub fn close(&self) {
        debug!(
            idle = self.shared.pool.idle_count(),
            "closing idle connections"
        );
        self.shared.pool.clear();
    }

    /// Removes every entry of the endpoint cache, if the client has one.
    pub fn clear_cache(&self) {
        if let Some(cache) = &self.shared.cache {
            cache.store().clear();
        }
    }

    /// Returns the endpoint cache store, if the client has one.
    ///
    /// Discoveries take the store's warnings after each call (the store has logged them
    /// already), so [`CacheStore::take_warnings`] returns only those of calls made since.
    pub fn cache(&self) -> Option<&Arc<dyn CacheStore>> {
        self.shared.cache.as_ref().map(CacheCalls::store)
    }

    /// Returns the number of idle keep-alive connections.
    pub fn idle_connections(&self) -> usize {
        self.shared.pool.idle_count()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .field("idle_connections", &self.shared.pool.idle_count())
            .finish_non_exhaustive()
    }
}
