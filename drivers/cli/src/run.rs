//! One run of the program: clear the cache, discover over the network or replay a transcript.

use std::path::{Path, PathBuf};
use std::time::Duration;

use autodiscover::{Config, Discovery, Flavor, Request};
use autodiscover_cache::{CacheStore, FileStore};
use autodiscover_smol::{CacheChoice, Client, Credentials, Options};
use autodiscover_transcript::Transcript;

use crate::cli::Cli;
use crate::credentials;
use crate::exit::Failure;
use crate::terminal::escape_lines;

/// The result of a run, for the report.
#[derive(Debug)]
pub enum Finished {
    /// A discovery ran, live or replayed, and ended with settings or an error.
    Session(Box<Session>),
    /// `--clear-cache` without an address: the cache file was cleared.
    CacheCleared(PathBuf),
}

/// A discovery that ran to its outcome.
#[derive(Debug)]
pub struct Session {
    /// The address discovery started from.
    pub email: String,
    /// The outcome.
    pub outcome: Result<Discovery, autodiscover::Error>,
    /// Facts about the run that the hints of a failure use.
    pub context: Context,
    /// Remarks for standard error, such as a replay that does not meet its expectations.
    pub notes: Vec<String>,
    /// The reason `--record` could not write the transcript, if it could not.
    pub record_failure: Option<Failure>,
}

/// The facts about a run that decide what to suggest after a failure.
#[derive(Debug, Clone)]
pub struct Context {
    /// The user name sent with Basic authentication.
    pub username: String,
    /// The kind of credentials sent.
    pub credentials: CredentialKind,
    /// The per-request timeout.
    pub request_timeout: Duration,
    /// The deadline of the whole discovery.
    pub deadline: Duration,
    /// The protocol flavour.
    pub flavor: Flavor,
    /// Whether the outcome came from `--replay`.
    pub replay: bool,
}

/// The kind of credentials of a run, without the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// No credentials.
    None,
    /// A user name and password for Basic authentication.
    Basic,
    /// A bearer token.
    Bearer,
}

/// Runs what the command line requests.
///
/// # Errors
/// A [`Failure`] for a usage error or a local error; a failed discovery is a [`Session`].
pub fn execute(cli: &Cli) -> Result<Finished, Failure> {
    if cli.clear_cache {
        let path = clear_cache(cli)?;
        if cli.email.is_none() {
            return Ok(Finished::CacheCleared(path));
        }
    }

    let session = match &cli.replay {
        Some(path) => replay(cli, path)?,
        None => live(cli)?,
    };
    Ok(Finished::Session(Box::new(session)))
}

/// Removes every entry of the cache file and returns its path.
fn clear_cache(cli: &Cli) -> Result<PathBuf, Failure> {
    let path = cache_path(cli)?;
    let store = FileStore::new(&path);
    store.clear();
    if let Some(warning) = store.take_warnings().into_iter().next() {
        return Err(Failure::local("cache", warning.to_string()).hint(
            "Check the permissions of the cache file and its directory, or pass --cache-file PATH.",
        ));
    }
    tracing::debug!(path = %path.display(), "cleared the endpoint cache");
    Ok(path)
}

/// Returns the cache file of `--cache-file`, else the default one.
fn cache_path(cli: &Cli) -> Result<PathBuf, Failure> {
    if let Some(path) = &cli.cache_file {
        return Ok(path.clone());
    }
    autodiscover_cache::default_path().ok_or_else(|| {
        Failure::local(
            "cache",
            "no cache directory: neither XDG_CACHE_HOME nor HOME is set to an absolute path",
        )
        .hint("Pass --cache-file PATH, or --no-cache.")
    })
}

/// Runs a discovery over the network with the smol driver.
fn live(cli: &Cli) -> Result<Session, Failure> {
    let email = cli
        .email
        .as_deref()
        .expect("clap requires EMAIL unless --replay or --clear-cache is given");
    let flavor = Flavor::from(cli.flavor);
    check_request(email, flavor, &cli.settings)?;

    // The address is valid here, so the prompt never requests the password of a typo.
    let username = cli
        .username
        .clone()
        .unwrap_or_else(|| email.trim().to_owned());
    let credentials = credentials::read(&username, cli.basic_upfront)?;
    let context = Context {
        username: username.clone(),
        credentials: match credentials {
            Credentials::Basic { .. } => CredentialKind::Basic,
            Credentials::Bearer { .. } => CredentialKind::Bearer,
            _ => CredentialKind::None,
        },
        request_timeout: cli.request_timeout(),
        deadline: cli.deadline(),
        flavor,
        replay: false,
    };

    let client = Client::new(options(cli, flavor, credentials)?).map_err(driver_failure)?;
    let mut record_failure = None;
    let outcome = match &cli.record {
        None => match smol::block_on(client.discover(email)) {
            Ok(discovery) => Ok(discovery),
            Err(autodiscover_smol::Error::Discovery(error)) => Err(error),
            Err(other) => return Err(driver_failure(other)),
        },
        Some(path) => {
            let recorded =
                smol::block_on(client.discover_recorded(email)).map_err(driver_failure)?;
            if let Err(error) = std::fs::write(path, recorded.transcript.render()) {
                record_failure = Some(
                    Failure::local(
                        "record",
                        format!(
                            "failed to write the transcript to {}: {error}",
                            path.display()
                        ),
                    )
                    .hint("Check that the directory exists and is writable."),
                );
            }
            recorded.outcome
        }
    };
    client.close();

    Ok(Session {
        email: email.trim().to_owned(),
        outcome,
        context,
        notes: Vec::new(),
        record_failure,
    })
}

/// Checks the address and the setting names before anything else happens, so that a typo
/// is a usage error that costs no prompt and no network.
fn check_request(email: &str, flavor: Flavor, settings: &[String]) -> Result<(), Failure> {
    let usage = |error: autodiscover::Error| Failure::usage(error.kind(), error.to_string());

    let request = Request::new(email).map_err(usage)?;
    if settings.is_empty() {
        return Ok(());
    }
    if flavor == Flavor::Pox {
        return Err(Failure::usage(
            "settings_with_pox",
            "--settings chooses SOAP settings, but POX always returns its fixed set",
        )
        .hint("Drop --settings, or use --flavor soap."));
    }
    request.settings(settings).map_err(usage)?;
    Ok(())
}

/// Builds the driver's options from the command line.
fn options(cli: &Cli, flavor: Flavor, credentials: Credentials) -> Result<Options, Failure> {
    let mut config = Config::default().strategy(cli.strategy.into());
    config.request_timeout = cli.request_timeout();
    config.deadline = cli.deadline();
    for host in &cli.trust {
        config = config.trust_host(host.as_str());
    }

    let cache = if cli.no_cache {
        CacheChoice::None
    } else {
        CacheChoice::File(cache_path(cli)?)
    };

    let mut options = Options::new()
        .flavor(flavor)
        .credentials(credentials)
        .basic_up_front(cli.basic_upfront)
        .config(config)
        .cache(cache);
    if !cli.settings.is_empty() {
        options = options.settings(cli.settings.iter().map(|name| name.trim().to_owned()));
    }
    if let Some(nameserver) = cli.nameserver {
        options = options.nameserver(nameserver);
    }
    if let Some(path) = &cli.ca_file {
        options = options.ca_file(path);
    }
    for target in &cli.connect_to {
        options = options.connect_to(target.host.clone(), target.port, target.addr);
    }
    Ok(options)
}

/// Turns a driver error other than a discovery outcome into a usage or local failure, with
/// hints that name the command-line options instead of the library's.
fn driver_failure(error: autodiscover_smol::Error) -> Failure {
    use autodiscover_smol::Error;
    match error {
        Error::Discovery(error) => Failure::usage(error.kind(), error.to_string()),
        Error::CaFile { path, source } => Failure::local(
            "ca_file",
            format!("failed to read CA file {}: {source}", path.display()),
        )
        .hint("Pass a readable PEM file to --ca-file."),
        Error::InvalidCaFile { path, reason } => Failure::local(
            "ca_file",
            format!("invalid CA file {}: {reason}", path.display()),
        )
        .hint("Pass a PEM file of CA certificates (-----BEGIN CERTIFICATE-----) to --ca-file."),
        Error::NoRoots { reason } => {
            Failure::local("ca_file", format!("no trusted root certificates: {reason}"))
                .hint("Pass a PEM file of CA certificates to --ca-file.")
        }
        Error::InvalidNameserver { addr, reason } => Failure::usage(
            "invalid_nameserver",
            format!("{addr} cannot be a nameserver: {reason}"),
        ),
        Error::SystemDns { reason } => Failure::local(
            "system_dns",
            format!("failed to read the system DNS configuration: {reason}"),
        )
        .hint("Pass a DNS server with --nameserver ADDR:PORT."),
        Error::Cache { reason } => {
            Failure::local("cache", format!("failed to open the cache: {reason}"))
                .hint("Pass --cache-file PATH, or --no-cache.")
        }
        Error::Recording { path, source } => Failure::local(
            "record",
            format!(
                "failed to write the transcript to {}: {source}",
                path.display()
            ),
        ),
        other => Failure::local("driver", other.to_string()),
    }
}

/// Replays a transcript offline through the transcript driver.
fn replay(cli: &Cli, path: &Path) -> Result<Session, Failure> {
    let transcript = Transcript::load(path).map_err(|error| {
        Failure::local("transcript_invalid", error.to_string())
            .hint("Pass a transcript written by --record.")
    })?;
    let header = &transcript.header;
    if let Some(email) = &cli.email {
        if !email.trim().eq_ignore_ascii_case(header.email.trim()) {
            return Err(Failure::usage(
                "email_mismatch",
                format!(
                    "the transcript {} replays a discovery for {}, not {}",
                    path.display(),
                    header.email,
                    email.trim()
                ),
            )
            .hint("Omit EMAIL with --replay, or pass the transcript's address."));
        }
    }

    let replayed = autodiscover_transcript::replay(&transcript).map_err(|error| {
        if cli.verbose > 0 {
            crate::output::write_stderr(&format!(
                "replay log up to the failure:\n{}\n",
                escape_lines(error.log.trim_end())
            ));
        }
        Failure::local(
            "replay_failed",
            format!(
                "the transcript {} cannot be replayed: {}",
                path.display(),
                error.problem
            ),
        )
        .hint("Run with -v to see the replay log up to the failure.")
    })?;

    let notes = replayed
        .check(&transcript.expectations)
        .iter()
        .map(|failure| {
            format!("the replay does not meet the transcript's expectation at {failure}")
        })
        .collect();
    let config = header.config();
    Ok(Session {
        email: header.email.clone(),
        outcome: replayed.outcome,
        context: Context {
            username: header.email.clone(),
            credentials: CredentialKind::None,
            request_timeout: config.request_timeout,
            deadline: config.deadline,
            flavor: header.flavor,
            replay: true,
        },
        notes,
        record_failure: None,
    })
}
