//! Every shared end-to-end scenario of `autodiscover-scenarios`, run against this driver.

use autodiscover_blocking::{CacheChoice, Client, Credentials, Error, Options, Roots};
use autodiscover_scenarios::{
    DriverError, DriverUnderTest, RunResult, ScenarioRun, TestCredentials,
};

/// The blocking driver as the scenarios see it: a fresh [`Client`] for every run.
struct BlockingDriver;

impl DriverUnderTest for BlockingDriver {
    fn discover(&self, run: &ScenarioRun) -> RunResult {
        let client = match Client::new(options(run)) {
            Ok(client) => client,
            Err(error) => {
                return RunResult {
                    outcome: Err(DriverError::Driver(error.to_string())),
                    transcript: None,
                }
            }
        };

        if !run.record {
            let outcome = client.discover(&run.email).map_err(driver_error);
            return RunResult {
                outcome,
                transcript: None,
            };
        }
        match client.discover_recorded(&run.email) {
            Ok(recorded) => RunResult {
                outcome: recorded.outcome.map_err(DriverError::Discovery),
                transcript: Some(recorded.transcript),
            },
            Err(error) => RunResult {
                outcome: Err(driver_error(error)),
                transcript: None,
            },
        }
    }
}

/// Builds the options of one run: only the test world's nameserver, CA and servers.
fn options(run: &ScenarioRun) -> Options {
    let credentials = match &run.credentials {
        TestCredentials::None => Credentials::None,
        TestCredentials::Basic { username, password } => {
            Credentials::basic(username.as_str(), password.as_str())
        }
        TestCredentials::Bearer { token } => Credentials::bearer(token.as_str()),
    };
    let cache = match &run.cache {
        Some(store) => CacheChoice::Store(store.clone()),
        None => CacheChoice::None,
    };
    let mut options = Options::new()
        .flavor(run.flavor)
        .credentials(credentials)
        .basic_up_front(run.basic_up_front)
        .config(run.config.clone())
        .nameserver(run.nameserver)
        .roots(Roots::None)
        .ca_file(&run.ca_file)
        .cache(cache);
    for (host, port, addr) in &run.connect_overrides {
        options = options.connect_to(host.as_str(), *port, *addr);
    }
    options
}

fn driver_error(error: Error) -> DriverError {
    match error {
        Error::Discovery(error) => DriverError::Discovery(error),
        other => DriverError::Driver(other.to_string()),
    }
}

autodiscover_scenarios::scenario_tests!(BlockingDriver);
