//! Checking a replay's outcome against the transcript's `expect` lines.

use std::fmt;

use autodiscover::Discovery;

use crate::model::{step_name, Expect, Expectation};
use crate::replay::Replay;
use crate::text::format_offset;

/// An `expect` line that the replay did not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectationFailure {
    /// The line of the expectation; 0 for one built in code.
    pub line: usize,
    /// The expected fact and the actual outcome.
    pub message: String,
}

impl fmt::Display for ExpectationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl Replay {
    /// Checks every expectation and returns the ones that failed, in order.
    pub fn check(&self, expectations: &[Expectation]) -> Vec<ExpectationFailure> {
        expectations
            .iter()
            .filter_map(|expectation| {
                self.check_one(&expectation.expect)
                    .err()
                    .map(|message| ExpectationFailure {
                        line: expectation.line,
                        message,
                    })
            })
            .collect()
    }

    fn check_one(&self, expect: &Expect) -> Result<(), String> {
        match expect {
            Expect::EwsUrl(expected) => {
                let found = &self.success("EWS URL")?.ews_url;
                compare(
                    "EWS URL",
                    expected.as_ref().map(|url| url.as_str()),
                    found.as_ref().map(|url| url.as_str()),
                )
            }
            Expect::Endpoint(expected) => {
                let found = &self.success("endpoint")?.endpoint;
                compare("endpoint", Some(expected.as_str()), Some(found.as_str()))
            }
            Expect::Step(expected) => {
                let found = self.success("step")?.step;
                if found == *expected {
                    Ok(())
                } else {
                    Err(format!(
                        "expected step {}, but the endpoint came from step {} ({found})",
                        step_name(*expected),
                        step_name(found)
                    ))
                }
            }
            Expect::SmtpAddress(expected) => {
                let found = &self.success("SMTP address")?.smtp_address;
                compare(
                    "SMTP address",
                    Some(expected.as_str()),
                    Some(found.as_str()),
                )
            }
            Expect::RedirectedEmail(expected) => {
                let found = &self.success("redirected email")?.redirected_email;
                compare("redirected email", expected.as_deref(), found.as_deref())
            }
            Expect::DisplayName(expected) => {
                let found = &self.success("display name")?.display_name;
                compare("display name", Some(expected.as_str()), found.as_deref())
            }
            Expect::Warning(fragment) => {
                let warnings: Vec<String> = self
                    .success("warning")?
                    .warnings
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                if warnings
                    .iter()
                    .any(|warning| warning.contains(fragment.as_str()))
                {
                    Ok(())
                } else {
                    Err(format!(
                        "expected a warning containing {fragment:?}, but the warnings are {warnings:?}"
                    ))
                }
            }
            Expect::Error(kind) => match &self.outcome {
                Err(error) if error.kind() == kind => Ok(()),
                Err(error) => Err(format!(
                    "expected error {kind}, but discovery failed with {}: {}",
                    error.kind(),
                    first_line(&error.to_string())
                )),
                Ok(discovery) => Err(format!(
                    "expected error {kind}, but discovery succeeded with {}",
                    describe_success(discovery)
                )),
            },
            Expect::ErrorMentions(fragment) => match &self.outcome {
                Err(error) if error.to_string().contains(fragment.as_str()) => Ok(()),
                Err(error) => Err(format!(
                    "expected the error text to mention {fragment:?}, but it is: {error}"
                )),
                Ok(discovery) => Err(format!(
                    "expected an error mentioning {fragment:?}, but discovery succeeded with {}",
                    describe_success(discovery)
                )),
            },
            Expect::Trace(fragment) => {
                let trace = match &self.outcome {
                    Ok(discovery) => discovery.trace.as_slice(),
                    Err(error) => error.trace(),
                };
                let lines: Vec<String> = trace.iter().map(ToString::to_string).collect();
                if lines.iter().any(|line| line.contains(fragment.as_str())) {
                    Ok(())
                } else {
                    Err(format!(
                        "expected an attempt in the trace containing {fragment:?}, but the trace is {lines:?}"
                    ))
                }
            }
            Expect::MaxRequests(max) => {
                if self.requests.len() <= *max {
                    Ok(())
                } else {
                    Err(format!(
                        "expected at most {max} HTTP requests, but the discoverer sent {}",
                        self.requests.len()
                    ))
                }
            }
            Expect::NoCredentials(prefix) => {
                let offending: Vec<String> = self
                    .requests
                    .iter()
                    .filter(|request| {
                        request.credentials_allowed
                            && request.url.as_str().starts_with(prefix.as_str())
                    })
                    .map(|request| format!("{} {}", request.method, request.url))
                    .collect();
                if offending.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "expected no credentials for URLs starting with {prefix}, but they were allowed on {}",
                        offending.join(", ")
                    ))
                }
            }
            Expect::FinishedBy(limit) => {
                if self.finished_at <= *limit {
                    Ok(())
                } else {
                    Err(format!(
                        "expected the outcome by {}, but it arrived at {}",
                        format_offset(*limit),
                        format_offset(self.finished_at)
                    ))
                }
            }
        }
    }

    /// Returns the discovery, or a message that `fact` cannot be checked because discovery
    /// failed.
    fn success(&self, fact: &str) -> Result<&Discovery, String> {
        self.outcome.as_ref().map_err(|error| {
            format!(
                "expected a {fact}, but discovery failed with {}: {}",
                error.kind(),
                first_line(&error.to_string())
            )
        })
    }
}

fn compare(fact: &str, expected: Option<&str>, found: Option<&str>) -> Result<(), String> {
    if expected == found {
        return Ok(());
    }
    Err(format!(
        "expected {fact} {}, but discovery returned {}",
        expected.unwrap_or("none"),
        found.unwrap_or("none")
    ))
}

fn describe_success(discovery: &Discovery) -> String {
    match &discovery.ews_url {
        Some(url) => format!("EWS URL {url}"),
        None => "no EWS URL".to_owned(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
