//! What the caller asks for: the mailbox address, the protocol flavour and the settings.

use std::fmt;

use crate::error::Error;
use crate::settings::{SettingName, DEFAULT_SOAP_SETTINGS};

/// The Autodiscover protocol flavour, which decides the endpoint path and the message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Flavor {
    /// SOAP `GetUserSettings` (MS-OXWSADISC) at `/autodiscover/autodiscover.svc`.
    #[default]
    Soap,
    /// Plain old XML with the Outlook 2006a response schema (MS-OXDSCLI) at
    /// `/autodiscover/autodiscover.xml`.
    Pox,
}

impl Flavor {
    /// Returns the endpoint path that steps 1, 2 and 4 append to a host.
    pub fn path(self) -> &'static str {
        match self {
            Flavor::Soap => "/autodiscover/autodiscover.svc",
            Flavor::Pox => "/autodiscover/autodiscover.xml",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::Soap => "soap",
            Flavor::Pox => "pox",
        })
    }
}

/// A syntactically checked SMTP address whose domain Autodiscover may start from.
///
/// The check is deliberately shallow (one `@`, a non-empty local part, a domain of at least two
/// labels made of letters, digits and hyphens) because the server decides whether the mailbox
/// exists. A single-label domain is rejected, so the candidates never include
/// `autodiscover.<TLD>`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct EmailAddress {
    address: String,
    at: usize,
}

/// Longest address accepted, from the SMTP path limit of RFC 5321 section 4.5.3.1.3.
pub const MAX_EMAIL_LEN: usize = 254;

impl EmailAddress {
    /// Parses and checks an address; the domain is lowercased, the local part kept as given.
    ///
    /// # Errors
    /// [`Error::InvalidEmail`] names the address and what is wrong with it.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidEmail {
            address: input.chars().take(MAX_EMAIL_LEN + 10).collect(),
            reason: reason.to_owned(),
        };

        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("the address is empty"));
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(invalid("the address is longer than 254 bytes"));
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(invalid("the address has no '@'"));
        };
        if local.is_empty() {
            return Err(invalid("the part before '@' is empty"));
        }
        if local
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(invalid(
                "the part before '@' contains a space, a control character or an angle bracket",
            ));
        }
        let domain = domain
            .strip_suffix('.')
            .unwrap_or(domain)
            .to_ascii_lowercase();
        check_domain(&domain).map_err(|reason| invalid(&reason))?;

        let address = format!("{local}@{domain}");
        Ok(Self {
            at: local.len(),
            address,
        })
    }

    /// Returns the whole address.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// Returns the lowercased domain part, the starting point of discovery.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// Compares two addresses the way Autodiscover redirect loops are detected: ignoring case.
    pub fn eq_ignore_case(&self, other: &EmailAddress) -> bool {
        self.address.eq_ignore_ascii_case(&other.address)
    }
}

/// Checks that `domain` is a DNS name of at least two labels, each 1 to 63 letters, digits or
/// hyphens, not starting or ending with a hyphen.
pub(crate) fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("the domain after '@' is empty".to_owned());
    }
    if domain.len() > 253 {
        return Err("the domain is longer than 253 bytes".to_owned());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "the domain {domain:?} has a single label; Autodiscover never queries a top-level domain"
        ));
    }
    let last = labels.last().copied().unwrap_or("");
    if !last.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!(
            "the domain {domain:?} ends in {last:?}, which is not a top-level domain (an IP address is not a mail domain)"
        ));
    }
    for label in &labels {
        let valid = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(format!(
                "the domain {domain:?} has an invalid label {label:?}; use its ASCII (punycode) form"
            ));
        }
    }
    let parsed = url::Url::parse(&format!("https://{domain}/"));
    if parsed.as_ref().ok().and_then(|url| url.host_str()) != Some(domain) {
        return Err(format!(
            "the domain {domain:?} is not a valid host name; check its punycode (xn--) labels"
        ));
    }
    Ok(())
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.address)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = Error;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.address
    }
}

/// One discovery request: whose settings, in which flavour, and which settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    email: EmailAddress,
    flavor: Flavor,
    settings: Vec<SettingName>,
}

impl Request {
    /// Creates a SOAP request for `email` with the default settings.
    ///
    /// # Errors
    /// [`Error::InvalidEmail`] when the address cannot start a discovery.
    pub fn new(email: &str) -> Result<Self, Error> {
        Ok(Self {
            email: EmailAddress::parse(email)?,
            flavor: Flavor::Soap,
            settings: DEFAULT_SOAP_SETTINGS
                .iter()
                .map(|name| SettingName::new(name))
                .collect(),
        })
    }

    /// Sets the protocol flavour.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// Sets the SOAP settings to request, replacing the defaults; POX returns a fixed set.
    ///
    /// # Errors
    /// [`Error::UnknownSetting`] for a name that MS-OXWSADISC does not define; the error
    /// lists the valid names. [`Error::NoSettings`] for an empty list.
    pub fn settings<I, S>(mut self, names: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut chosen = Vec::new();
        for name in names {
            let setting = SettingName::parse(name.as_ref())?;
            if !chosen.contains(&setting) {
                chosen.push(setting);
            }
        }
        if chosen.is_empty() {
            return Err(Error::NoSettings);
        }
        self.settings = chosen;
        Ok(self)
    }

    /// Returns the address discovery starts from.
    pub fn email(&self) -> &EmailAddress {
        &self.email
    }

    /// Returns the protocol flavour.
    pub fn flavor_kind(&self) -> Flavor {
        self.flavor
    }

    /// Returns the SOAP settings that will be requested.
    pub fn requested_settings(&self) -> &[SettingName] {
        &self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_lowercases_domain_only() {
        let email = EmailAddress::parse("Alice@Example.COM").unwrap();
        assert_eq!(email.as_str(), "Alice@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn email_rejects_bad_input() {
        for input in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@com",
            "alice@exa mple.com",
            "alice@-bad.com",
            "alice@example..com",
            "alice@127.1",
            "alice@10.0.0.1",
            "alice@a.0x10",
            "alice@example.123",
            "alice@xn--a.example.com",
            "a b@example.com",
        ] {
            assert!(
                EmailAddress::parse(input).is_err(),
                "{input:?} was accepted"
            );
        }
    }

    #[test]
    fn email_strips_root_dot() {
        let email = EmailAddress::parse("bob@example.org.").unwrap();
        assert_eq!(email.domain(), "example.org");
    }

    #[test]
    fn unknown_setting_lists_valid_names() {
        let error = Request::new("a@example.com")
            .unwrap()
            .settings(["ExternalEwsUrl", "Bogus"])
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("Bogus"), "{message}");
        assert!(message.contains("InternalEwsUrl"), "{message}");
        assert!(!message.contains("did you mean"), "{message}");
    }

    #[test]
    fn misspelled_setting_gets_suggestion() {
        let error = Request::new("a@example.com")
            .unwrap()
            .settings(["ExternalEwsUrll"])
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(r#"(did you mean "ExternalEwsUrl"?)"#),
            "{message}"
        );
    }
}
