//! The end-to-end scenarios that every Autodiscover driver runs against real servers on
//! loopback.
//!
//! Each [`Scenario`] builds its own [`World`] (a DNS server, a test CA and HTTP and HTTPS
//! servers from `autodiscover-testworld`), runs the driver under test once or twice through
//! [`DriverUnderTest`], and checks both the outcome and the requests the servers received.
//! A driver's test file implements the trait and expands [`scenario_tests!`], which writes one
//! `#[test]` per scenario, so a scenario added here runs on every driver and fails under its
//! own name.
//!
//! ```ignore
//! struct MyDriver;
//!
//! impl autodiscover_scenarios::DriverUnderTest for MyDriver {
//!     fn discover(&self, run: &autodiscover_scenarios::ScenarioRun) -> autodiscover_scenarios::RunResult {
//!         // Build the driver from `run` (nameserver, CA file, connect overrides, cache,
//!         // credentials, config) and run one discovery.
//!         # unimplemented!()
//!     }
//! }
//!
//! autodiscover_scenarios::scenario_tests!(MyDriver);
//! ```
//!
//! Every server listens on 127.0.0.0/8, the DNS server is 127.0.0.1, and a run always names
//! that DNS server, so no scenario touches the system resolver or another host. Each run uses
//! [`test_config`]: a 2 s request timeout, a 200 ms stagger and a 10 s deadline, which bound
//! every scenario in time.
//!
//! [`World`]: autodiscover_testworld::World

#![warn(missing_docs)]

mod cache;
mod failures;
mod recording;
mod redirects;
mod steps;
pub mod world;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use autodiscover::{Config, Discovery, Flavor, Strategy};
use autodiscover_cache::CacheStore;
use autodiscover_transcript::Transcript;

pub use world::Setup;

/// Per-request timeout of every scenario run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Stagger of the parallel strategy in every scenario run.
pub const STAGGER: Duration = Duration::from_millis(200);
/// Grace of the parallel strategy: how long a lower-priority answer waits for a black-holed
/// higher-priority candidate.
pub const GRACE: Duration = Duration::from_millis(300);
/// Deadline of every scenario discovery.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Returns the core configuration of scenario runs: short timeouts, the parallel strategy,
/// and no cache unless a scenario turns it on.
pub fn test_config() -> Config {
    Config {
        strategy: Strategy::Parallel {
            stagger: STAGGER,
            grace: GRACE,
        },
        request_timeout: REQUEST_TIMEOUT,
        deadline: DEADLINE,
        use_cache: false,
        ..Config::default()
    }
}

/// The credentials of a run, independent of any driver's own type.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum TestCredentials {
    /// No credentials.
    #[default]
    None,
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// A bearer token.
    Bearer {
        /// The token.
        token: String,
    },
}

impl fmt::Debug for TestCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestCredentials::None => f.write_str("None"),
            TestCredentials::Basic { username, .. } => write!(f, "Basic({username})"),
            TestCredentials::Bearer { .. } => f.write_str("Bearer"),
        }
    }
}

/// Everything a driver needs for one discovery of a scenario.
#[derive(Clone)]
pub struct ScenarioRun {
    /// The address to discover.
    pub email: String,
    /// The protocol flavour.
    pub flavor: Flavor,
    /// The credentials.
    pub credentials: TestCredentials,
    /// Whether Basic credentials go with the first request instead of after a challenge.
    pub basic_up_front: bool,
    /// The core's configuration.
    pub config: Config,
    /// The test DNS server, to ask over UDP and TCP instead of the system resolver.
    pub nameserver: SocketAddr,
    /// A PEM file with the test CA, to trust in addition to (or instead of) the usual roots.
    pub ca_file: PathBuf,
    /// Connect overrides `(host, port, address)` in the manner of curl's `--connect-to`.
    pub connect_overrides: Vec<(String, u16, SocketAddr)>,
    /// The cache store to read and write, or `None` for no cache.
    pub cache: Option<Arc<dyn CacheStore>>,
    /// Whether to record the session and return its transcript.
    pub record: bool,
}

impl fmt::Debug for ScenarioRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScenarioRun")
            .field("email", &self.email)
            .field("flavor", &self.flavor)
            .field("credentials", &self.credentials)
            .field("basic_up_front", &self.basic_up_front)
            .field("config", &self.config)
            .field("nameserver", &self.nameserver)
            .field("ca_file", &self.ca_file)
            .field("connect_overrides", &self.connect_overrides)
            .field("cache", &self.cache.is_some())
            .field("record", &self.record)
            .finish()
    }
}

/// The reason a driver returned no discovery.
#[derive(Debug)]
pub enum DriverError {
    /// The core's error: the discovery ran and failed.
    Discovery(autodiscover::Error),
    /// The driver failed before or around the discovery (setup, recording).
    Driver(String),
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Discovery(error) => write!(f, "discovery failed: {error}"),
            DriverError::Driver(message) => write!(f, "driver failed: {message}"),
        }
    }
}

/// The result a driver returns for one run.
#[derive(Debug)]
pub struct RunResult {
    /// The outcome.
    pub outcome: Result<Discovery, DriverError>,
    /// The transcript, when the run asked for recording.
    pub transcript: Option<Transcript>,
}

/// A driver as the scenarios see it.
pub trait DriverUnderTest {
    /// Runs one discovery as `run` describes: the driver must use `run.nameserver` for DNS,
    /// trust `run.ca_file`, apply `run.connect_overrides`, use `run.cache`, and return the
    /// transcript when `run.record` is set.
    fn discover(&self, run: &ScenarioRun) -> RunResult;
}

/// One end-to-end scenario.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// The name, also the test name.
    pub name: &'static str,
    /// The behaviour the scenario demonstrates.
    pub description: &'static str,
    run: fn(&dyn DriverUnderTest),
}

impl Scenario {
    /// Runs the scenario against `driver`; it panics with a message naming the failed check.
    pub fn run(&self, driver: &dyn DriverUnderTest) {
        (self.run)(driver)
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

macro_rules! scenario {
    ($module:ident :: $name:ident, $description:expr) => {
        Scenario {
            name: stringify!($name),
            description: $description,
            run: $module::$name,
        }
    };
}

/// Returns every scenario, in the order [`scenario_tests!`] lists them.
pub fn all() -> Vec<Scenario> {
    vec![
        scenario!(
            steps::step_one_answers_soap,
            "step 1 answers a SOAP request"
        ),
        scenario!(steps::step_one_answers_pox, "step 1 answers a POX request"),
        scenario!(
            steps::step_one_refused_step_two_answers,
            "step 1 refuses the connection and step 2 answers"
        ),
        scenario!(
            steps::black_hole_parallel_finds_step_two,
            "step 1 never answers and the parallel strategy finds step 2 early"
        ),
        scenario!(
            steps::http_redirect_leads_to_https_host,
            "step 3's http 302 leads to a working https host"
        ),
        scenario!(
            steps::srv_record_only,
            "only the SRV record leads to the server"
        ),
        scenario!(
            redirects::email_redirect_to_other_domain,
            "an email redirect to another domain is followed"
        ),
        scenario!(
            redirects::circular_email_redirect,
            "a circular email redirect ends with its error"
        ),
        scenario!(
            redirects::untrusted_redirect_gets_no_credentials,
            "credentials never reach an untrusted redirect target"
        ),
        scenario!(
            redirects::http_get_has_no_authorization,
            "the step 3 http GET carries no credentials"
        ),
        scenario!(
            failures::nothing_answers_lists_candidates,
            "nothing answers and the error lists every candidate"
        ),
        scenario!(
            failures::all_endpoints_reject_credentials,
            "every endpoint answers 401 and the error says the credentials were rejected"
        ),
        scenario!(
            failures::huge_body_cut_at_limit,
            "50 MB and endless bodies are cut at the size limit"
        ),
        scenario!(
            failures::gzip_bomb_cut_at_limit,
            "a gzip bomb is cut at the size limit and a gzip answer is decoded"
        ),
        scenario!(
            failures::wrong_host_certificate_fails,
            "a certificate for another host fails its candidate"
        ),
        scenario!(
            cache::second_run_uses_cache,
            "a second run asks only the cached endpoint"
        ),
        scenario!(
            cache::dead_cached_endpoint_purged,
            "a cached endpoint that died is purged and rediscovered"
        ),
        scenario!(
            recording::recorded_session_replays,
            "a recorded session replays to the same result"
        ),
    ]
}

/// Runs the scenario called `name` against `driver`.
///
/// # Panics
/// When no scenario has that name, or the scenario fails.
pub fn run_named(name: &str, driver: &dyn DriverUnderTest) {
    let Some(scenario) = all().into_iter().find(|scenario| scenario.name == name) else {
        panic!("no scenario is named {name:?}; add it to autodiscover_scenarios::all()");
    };
    scenario.run(driver);
}

/// Checks that `listed` (the names a driver's test file expanded) is exactly [`all`].
///
/// # Panics
/// Naming the scenarios missing from the list or unknown to [`all`].
pub fn check_listed(listed: &[&str]) {
    let known: Vec<&str> = all().iter().map(|scenario| scenario.name).collect();
    let missing: Vec<&&str> = known.iter().filter(|name| !listed.contains(name)).collect();
    let unknown: Vec<&&str> = listed.iter().filter(|name| !known.contains(name)).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "scenario_tests! lists {listed:?}; missing from the macro: {missing:?}; not in all(): {unknown:?}"
    );
}

/// Writes one `#[test]` per scenario for a driver, plus a test that the list matches
/// [`all`].
///
/// The argument is an expression that builds the driver (a value implementing
/// [`DriverUnderTest`]); each test evaluates it once.
#[macro_export]
macro_rules! scenario_tests {
    ($driver:expr) => {
        $crate::scenario_tests!(@tests $driver;
            step_one_answers_soap,
            step_one_answers_pox,
            step_one_refused_step_two_answers,
            black_hole_parallel_finds_step_two,
            http_redirect_leads_to_https_host,
            srv_record_only,
            email_redirect_to_other_domain,
            circular_email_redirect,
            untrusted_redirect_gets_no_credentials,
            http_get_has_no_authorization,
            nothing_answers_lists_candidates,
            all_endpoints_reject_credentials,
            huge_body_cut_at_limit,
            gzip_bomb_cut_at_limit,
            wrong_host_certificate_fails,
            second_run_uses_cache,
            dead_cached_endpoint_purged,
            recorded_session_replays,
        );
    };
    (@tests $driver:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let driver = $driver;
                $crate::run_named(stringify!($name), &driver);
            }
        )*

        #[test]
        fn scenario_list_is_complete() {
            $crate::check_listed(&[$(stringify!($name)),*]);
        }
    };
}
