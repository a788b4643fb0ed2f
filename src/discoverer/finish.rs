//! Ending a discovery: taking a decisive answer, restarting after an address redirect, and
//! choosing the error that explains a failure best.

use tracing::debug;
use url::Url;

use super::candidate::{Decisive, State};
use super::{Discoverer, Pending};
use crate::action::{Action, CacheEntry};
use crate::answer::UserSettings;
use crate::config::MAX_REDIRECTS;
use crate::error::Error;
use crate::outcome::{Discovery, Redirect, Warning};
use crate::request::EmailAddress;
use crate::trace::Step;

impl Discoverer {
    /// Acts on the decisive answer held by candidate `index`.
    pub(super) fn take_answer(&mut self, index: usize) {
        let State::Answered { answer, .. } =
            std::mem::replace(&mut self.candidates[index].state, State::Failed)
        else {
            return;
        };
        let step = self.candidates[index].step;
        self.abandon_pending();
        match answer {
            Decisive::Settings {
                settings,
                endpoint,
                auth_scheme,
                trusted,
            } => self.finish_with_settings(*settings, endpoint, auth_scheme, trusted, step),
            Decisive::RedirectAddress {
                email,
                from,
                trusted,
            } => self.redirect_address(email, &from, trusted),
        }
    }

    fn finish_with_settings(
        &mut self,
        answer: UserSettings,
        endpoint: Url,
        auth_scheme: Option<String>,
        trusted: bool,
        step: Step,
    ) {
        // Settings from a host that never received credentials are unauthenticated; they are
        // returned with a warning but not remembered, so they cannot steer later discoveries.
        if self.config.use_cache && trusted {
            let domain = self.current().domain().to_owned();
            let entry = CacheEntry {
                endpoint: endpoint.clone(),
                flavor: self.flavor,
                auth_scheme,
                stored_at: None,
            };
            let id = self.push_action(|id| Action::CachePut {
                id,
                domain,
                entry: Some(entry),
            });
            self.pending.insert(id, Pending::CacheWrite);
        }

        let settings = answer.settings;
        let mut warnings: Vec<Warning> = Vec::new();
        if !trusted {
            warnings.push(Warning::UntrustedEndpoint {
                host: crate::trust::host_of(&endpoint).unwrap_or_default(),
            });
        }
        warnings.extend(
            answer
                .setting_errors
                .into_iter()
                .map(|error| Warning::Setting {
                    setting: error.setting,
                    code: error.code,
                    message: error.message,
                }),
        );

        let mut url_setting = |name: &str| -> Option<Url> {
            let value = settings.text(name)?;
            match Url::parse(value.trim()) {
                Ok(url) if url.scheme() == "https" => Some(url),
                Ok(url) if url.scheme() == "http" => {
                    warnings.push(Warning::InsecureEwsUrl {
                        setting: name.to_owned(),
                    });
                    Some(url)
                }
                _ => {
                    warnings.push(Warning::InvalidEwsUrl {
                        setting: name.to_owned(),
                        value: value.chars().take(300).collect(),
                    });
                    None
                }
            }
        };
        let external_ews_url = url_setting("ExternalEwsUrl");
        let internal_ews_url = url_setting("InternalEwsUrl");
        let ews_url = match (&external_ews_url, &internal_ews_url) {
            (Some(external), _) => Some(external.clone()),
            (None, Some(internal)) => {
                warnings.push(Warning::InternalEwsUrlOnly);
                Some(internal.clone())
            }
            (None, None) => {
                warnings.push(Warning::NoEwsUrl);
                None
            }
        };

        let current = self.current().clone();
        let smtp_address = settings
            .text("AutoDiscoverSMTPAddress")
            .map_or_else(|| current.to_string(), str::to_owned);
        let redirected_email = (self.addresses.len() > 1).then(|| current.to_string());
        let display_name = settings.text("UserDisplayName").map(str::to_owned);
        let server_version = [
            "CasVersion",
            "ExternalEwsVersion",
            "ServerVersion",
            "ServerVersionInfo",
        ]
        .iter()
        .find_map(|name| settings.text(name))
        .map(str::to_owned);

        let discovery = Discovery {
            ews_url,
            external_ews_url,
            internal_ews_url,
            smtp_address,
            redirected_email,
            display_name,
            server_version,
            settings,
            endpoint,
            flavor: self.flavor,
            step,
            redirects: self.redirects.clone(),
            warnings,
            trace: self.trace.clone(),
        };
        self.finish(Ok(discovery));
    }

    /// Restarts discovery with `email`, unless that closes a loop or passes the limit.
    fn redirect_address(&mut self, email: EmailAddress, from: &Url, trusted: bool) {
        if self
            .addresses
            .iter()
            .any(|seen| seen.eq_ignore_case(&email))
        {
            let mut addresses: Vec<String> =
                self.addresses.iter().map(ToString::to_string).collect();
            addresses.push(email.to_string());
            let trace = self.trace.clone();
            self.finish(Err(Error::RedirectLoop { addresses, trace }));
            return;
        }
        if self.redirects.len() >= MAX_REDIRECTS {
            let trace = self.trace.clone();
            self.finish(Err(Error::TooManyRedirects {
                limit: MAX_REDIRECTS,
                trace,
            }));
            return;
        }

        debug!(from = %self.current(), to = %email, url = %from, "restarting with a redirected address");
        self.redirects.push(Redirect::Address {
            from: self.current().to_string(),
            to: email.to_string(),
        });
        // Only an answer from a host trusted with credentials may extend that trust to the new
        // address's domain; otherwise any host on a redirect path could pick where credentials go.
        let domain = email.domain().to_owned();
        if trusted && !self.trusted_domains.contains(&domain) {
            self.trusted_domains.push(domain);
        }
        self.addresses.push(email);
        // Lookups still running belong to the abandoned candidates, and their results will be
        // ignored. Forgetting them makes the new address's candidates look the hosts up again.
        self.pending.clear();
        self.queue
            .retain(|action| matches!(action, Action::CachePut { .. }));
        self.hosts
            .retain(|_, state| !matches!(state, super::HostState::Resolving));
        self.failures = Default::default();
        self.start_address();
    }

    /// Ends the discovery when every candidate failed, with the error that explains it best.
    pub(super) fn finish_failed(&mut self) {
        let trace = self.trace.clone();
        let failures = std::mem::take(&mut self.failures);
        let error = if let Some((error, url, email)) = failures.user_error {
            Error::InvalidUser {
                email,
                url,
                error: Box::new(error),
                trace,
            }
        } else if !failures.challenges.is_empty() {
            Error::CredentialsRejected {
                challenges: failures.challenges,
                trace,
            }
        } else if let Some((host, url)) = failures.untrusted {
            Error::UntrustedHost { host, url, trace }
        } else if let Some((error, url)) = failures.request_error {
            Error::InvalidRequest {
                url,
                error: Box::new(error),
                trace,
            }
        } else if let Some((error, url)) = failures.server_error {
            Error::ServerFailed {
                url,
                error: Box::new(error),
                trace,
            }
        } else if failures.redirect_limit_hit {
            Error::TooManyRedirects {
                limit: MAX_REDIRECTS,
                trace,
            }
        } else {
            Error::NotFound {
                email: self.current().to_string(),
                trace,
            }
        };
        self.finish(Err(error));
    }
}
