//! The meaning of one Autodiscover response body, the same for both flavours.
//!
//! [`soap::parse_response`](crate::soap::parse_response) and
//! [`pox::parse_response`](crate::pox::parse_response) turn bytes into an [`Answer`]; the
//! discoverer decides what to do with it. Codes are kept as typed values so that decisions never
//! depend on the (possibly localised) message text.

use std::fmt;

use crate::settings::Settings;

/// The meaning of one response for the address in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The user's settings, with setting-level errors as warnings.
    Settings(UserSettings),
    /// Ask again with this address (SOAP `RedirectAddress`, POX `redirectAddr`).
    RedirectAddress(String),
    /// Ask again, with the same address, at this URL (SOAP `RedirectUrl`, POX `redirectUrl`).
    RedirectUrl(String),
    /// A request-level or user-level error.
    Error(ServerError),
}

/// Settings returned for one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSettings {
    /// Every setting the response carried, under the SOAP setting names where one exists
    /// (`ExternalEwsUrl`, `UserDisplayName`, ...).
    pub settings: Settings,
    /// Settings the server could not return (SOAP `UserSettingError`).
    pub setting_errors: Vec<SettingError>,
}

/// A setting the server did not return, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The setting name.
    pub setting: String,
    /// The code.
    pub code: ErrorCode,
    /// The server's message, for people only.
    pub message: String,
}

/// Where in a response an error code sat, which decides its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ErrorLevel {
    /// The whole request failed (SOAP `Response/ErrorCode`, POX codes 600 to 603).
    Request,
    /// The request was fine but this user could not be served (SOAP `UserResponse/ErrorCode`,
    /// POX codes 500 to 502).
    User,
}

/// An error the server reported in an otherwise well-formed response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ServerError {
    /// The scope of the error.
    pub level: ErrorLevel,
    /// The code as a typed value.
    pub code: ErrorCode,
    /// The code exactly as the server wrote it (`InvalidUser`, `500`).
    pub raw_code: String,
    /// The server's message, for people only.
    pub message: String,
    /// POX `DebugData`, when present.
    pub debug_data: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error code {}", self.raw_code)?;
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

/// An Autodiscover error code: the SOAP `ErrorCode` values of MS-OXWSADISC, with the POX codes
/// of MS-OXDSCLI mapped onto them by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ErrorCode {
    /// No error.
    NoError,
    /// The user should be asked for under another address.
    RedirectAddress,
    /// The request should be sent to another URL.
    RedirectUrl,
    /// The address has no mailbox here (POX 500, 501 and 602).
    InvalidUser,
    /// The request was malformed (POX 600 and 601).
    InvalidRequest,
    /// A requested setting name is invalid.
    InvalidSetting,
    /// A requested setting is not available for this user.
    SettingIsNotAvailable,
    /// The server is too busy; try again later.
    ServerBusy,
    /// The domain is not valid here.
    InvalidDomain,
    /// The organization is not federated.
    NotFederated,
    /// The server failed (POX 603).
    InternalServerError,
    /// A code this crate does not know.
    Other,
}

impl ErrorCode {
    /// Maps a SOAP `ErrorCode` text; matching ignores case and surrounding space.
    pub fn from_soap(code: &str) -> Self {
        const CODES: &[(&str, ErrorCode)] = &[
            ("NoError", ErrorCode::NoError),
            ("RedirectAddress", ErrorCode::RedirectAddress),
            ("RedirectUrl", ErrorCode::RedirectUrl),
            ("InvalidUser", ErrorCode::InvalidUser),
            ("InvalidRequest", ErrorCode::InvalidRequest),
            ("InvalidSetting", ErrorCode::InvalidSetting),
            ("SettingIsNotAvailable", ErrorCode::SettingIsNotAvailable),
            ("ServerBusy", ErrorCode::ServerBusy),
            ("InvalidDomain", ErrorCode::InvalidDomain),
            ("NotFederated", ErrorCode::NotFederated),
            ("InternalServerError", ErrorCode::InternalServerError),
        ];
        let code = code.trim();
        CODES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(code))
            .map_or(ErrorCode::Other, |(_, value)| *value)
    }

    /// Maps a POX `ErrorCode` number (MS-OXDSCLI section 2.2.4.1.1.3.2) and its level.
    pub fn from_pox(code: u16) -> (Self, ErrorLevel) {
        match code {
            500..=502 => (ErrorCode::InvalidUser, ErrorLevel::User),
            600 | 601 => (ErrorCode::InvalidRequest, ErrorLevel::Request),
            602 => (ErrorCode::InvalidUser, ErrorLevel::User),
            603 => (ErrorCode::InternalServerError, ErrorLevel::Request),
            _ => (ErrorCode::Other, ErrorLevel::Request),
        }
    }
}

/// The reason a body is not a usable Autodiscover response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ResponseError {
    /// The body is empty.
    #[error("the body is empty")]
    Empty,
    /// The body is not well-formed XML, or uses an entity other than the five predefined ones.
    #[error("the body is not well-formed XML: {0}")]
    Malformed(String),
    /// The bytes are in an encoding this crate does not decode.
    #[error("unsupported character encoding {0:?}")]
    UnsupportedEncoding(String),
    /// The root element is not the flavour's Autodiscover root.
    #[error("the root element is {found}, not {expected}")]
    UnexpectedRoot {
        /// The root found, as `{namespace}name`.
        found: String,
        /// The root the flavour requires.
        expected: &'static str,
    },
    /// A required element is missing.
    #[error("the response has no {0} element")]
    Missing(&'static str),
    /// The document has more elements, attributes or namespaces than the parser keeps.
    #[error("the document has more than {limit} {what}")]
    TooLarge {
        /// The counted item: `elements`, `attributes` or `namespaces`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The document nests deeper than the parser allows.
    #[error("the document nests deeper than {0} elements")]
    TooDeep(usize),
    /// A SOAP fault.
    #[error("SOAP fault: {0}")]
    Fault(String),
}
