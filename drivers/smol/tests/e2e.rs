//! Runs every shared end-to-end scenario against the smol driver, one test per scenario.

use autodiscover_scenarios::{
    DriverError, DriverUnderTest, RunResult, ScenarioRun, TestCredentials,
};
use autodiscover_smol::{CacheChoice, Client, Credentials, Error, Options, Roots};

/// The smol driver as the scenarios see it: a new client per run, built from the run.
struct SmolDriver;

impl SmolDriver {
    fn options(run: &ScenarioRun) -> Options {
        let credentials = match &run.credentials {
            TestCredentials::None => Credentials::None,
            TestCredentials::Basic { username, password } => {
                Credentials::basic(username.clone(), password.as_str())
            }
            TestCredentials::Bearer { token } => Credentials::bearer(token.as_str()),
        };
        let mut options = Options::new()
            .flavor(run.flavor)
            .credentials(credentials)
            .basic_up_front(run.basic_up_front)
            .config(run.config.clone())
            .nameserver(run.nameserver)
            .roots(Roots::None)
            .ca_file(&run.ca_file)
            .cache(match &run.cache {
                Some(store) => CacheChoice::Store(store.clone()),
                None => CacheChoice::None,
            });
        for (host, port, addr) in &run.connect_overrides {
            options = options.connect_to(host.clone(), *port, *addr);
        }
        options
    }
}

impl DriverUnderTest for SmolDriver {
    fn discover(&self, run: &ScenarioRun) -> RunResult {
        init_logging();
        let client = match Client::new(Self::options(run)) {
            Ok(client) => client,
            Err(error) => {
                return RunResult {
                    outcome: Err(DriverError::Driver(error.to_string())),
                    transcript: None,
                }
            }
        };
        let result = if run.record {
            match smol::block_on(client.discover_recorded(&run.email)) {
                Ok(recorded) => RunResult {
                    outcome: recorded.outcome.map_err(DriverError::Discovery),
                    transcript: Some(recorded.transcript),
                },
                Err(error) => RunResult {
                    outcome: Err(driver_error(error)),
                    transcript: None,
                },
            }
        } else {
            RunResult {
                outcome: smol::block_on(client.discover(&run.email)).map_err(driver_error),
                transcript: None,
            }
        };
        client.close();
        result
    }
}

fn driver_error(error: Error) -> DriverError {
    match error {
        Error::Discovery(error) => DriverError::Discovery(error),
        other => DriverError::Driver(other.to_string()),
    }
}

/// Prints the driver's logs in failing tests when `AUTODISCOVER_TEST_LOG` names a level
/// (`debug`, `trace`).
fn init_logging() {
    let Ok(level) = std::env::var("AUTODISCOVER_TEST_LOG") else {
        return;
    };
    let level = level.parse().unwrap_or(tracing::Level::DEBUG);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_test_writer()
        .try_init();
}

autodiscover_scenarios::scenario_tests!(SmolDriver);
