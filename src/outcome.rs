//! The result of a successful discovery.

use std::fmt;

use url::Url;

use crate::answer::ErrorCode;
use crate::request::Flavor;
use crate::settings::Settings;
use crate::trace::{Attempt, Step};

/// A redirect that discovery followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Redirect {
    /// An HTTP or XML redirect to another URL.
    Url {
        /// The URL that redirected.
        from: String,
        /// The target.
        to: String,
    },
    /// A redirect to another address, which restarted discovery.
    Address {
        /// The address asked for.
        from: String,
        /// The address to ask for instead.
        to: String,
    },
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Redirect::Url { from, to } => write!(f, "URL {from} -> {to}"),
            Redirect::Address { from, to } => write!(f, "address {from} -> {to}"),
        }
    }
}

/// Something the caller may want to know about a successful discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Warning {
    /// Only the internal EWS URL was returned, which may not be reachable from outside the
    /// organization's network.
    InternalEwsUrlOnly,
    /// The endpoint that answered is on a host not trusted with credentials, so the request
    /// carried none and the answer is unauthenticated. Such an endpoint is not cached.
    UntrustedEndpoint {
        /// The host.
        host: String,
    },
    /// An EWS URL setting uses plain http.
    InsecureEwsUrl {
        /// The setting name.
        setting: String,
    },
    /// No EWS URL was returned at all.
    NoEwsUrl,
    /// An EWS URL setting was present but not a valid absolute URL.
    InvalidEwsUrl {
        /// The setting name.
        setting: String,
        /// The value.
        value: String,
    },
    /// A setting the server could not return.
    Setting {
        /// The setting name.
        setting: String,
        /// The code.
        code: ErrorCode,
        /// The server's message.
        message: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::InternalEwsUrlOnly => f.write_str(
                "only the internal EWS URL was returned; it may be unreachable outside the organization's network",
            ),
            Warning::UntrustedEndpoint { host } => write!(
                f,
                "the settings came from {host}, which is not trusted with credentials, so they are unauthenticated; trust the host with Config::trust_host if it is your mail provider's"
            ),
            Warning::InsecureEwsUrl { setting } => {
                write!(f, "{setting} uses plain http; credentials sent there travel unencrypted")
            }
            Warning::NoEwsUrl => f.write_str("the response carried no EWS URL"),
            Warning::InvalidEwsUrl { setting, value } => {
                write!(f, "{setting} is not a valid URL: {value:?}")
            }
            Warning::Setting {
                setting,
                code,
                message,
            } => {
                write!(f, "setting {setting} not returned: {code:?}")?;
                if !message.is_empty() {
                    write!(f, " ({message})")?;
                }
                Ok(())
            }
        }
    }
}

/// The result of a successful discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Discovery {
    /// The EWS URL to use: the external one, else the internal one (with a warning).
    pub ews_url: Option<Url>,
    /// `ExternalEwsUrl`, when valid.
    pub external_ews_url: Option<Url>,
    /// `InternalEwsUrl`, when valid.
    pub internal_ews_url: Option<Url>,
    /// The mailbox's primary SMTP address: `AutoDiscoverSMTPAddress`, else the address asked
    /// for last.
    pub smtp_address: String,
    /// The address asked for last, when an address redirect replaced the caller's.
    pub redirected_email: Option<String>,
    /// `UserDisplayName`.
    pub display_name: Option<String>,
    /// The server version: SOAP `CasVersion` or `ExternalEwsVersion`, POX `ServerVersion`, else
    /// the SOAP `ServerVersionInfo` header (stored as the setting `ServerVersionInfo`).
    pub server_version: Option<String>,
    /// Every setting returned.
    pub settings: Settings,
    /// The Autodiscover endpoint that returned the settings.
    pub endpoint: Url,
    /// The flavour spoken.
    pub flavor: Flavor,
    /// The step that led to the endpoint.
    pub step: Step,
    /// The redirects followed, in order.
    pub redirects: Vec<Redirect>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Every attempt, including the ones that failed before the answer.
    pub trace: Vec<Attempt>,
}
