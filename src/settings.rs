//! User settings: the names a SOAP request may ask for and the values a response carries.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::Error;

/// Every `UserSettingName` that MS-OXWSADISC defines (section 3.1.4.1.4.1), in its order.
///
/// A request may only name these; a response may carry any name, so [`Settings`] is open.
pub const KNOWN_SETTINGS: &[&str] = &[
    "UserDisplayName",
    "UserDN",
    "UserDeploymentId",
    "InternalMailboxServer",
    "InternalRpcClientServer",
    "InternalMailboxServerDN",
    "InternalWebClientUrls",
    "InternalEcpUrl",
    "InternalEcpVoicemailUrl",
    "InternalEcpEmailSubscriptionsUrl",
    "InternalEcpTextMessagingUrl",
    "InternalEcpDeliveryReportUrl",
    "InternalEcpRetentionPolicyTagsUrl",
    "InternalEcpPublishingUrl",
    "InternalEcpPhotoUrl",
    "InternalEcpConnectUrl",
    "InternalEcpTeamMailboxUrl",
    "InternalEcpTeamMailboxCreatingUrl",
    "InternalEcpTeamMailboxEditingUrl",
    "InternalEcpTeamMailboxHidingUrl",
    "InternalEcpExtensionInstallationUrl",
    "InternalEwsUrl",
    "InternalEmwsUrl",
    "InternalOABUrl",
    "InternalPhotosUrl",
    "InternalUMUrl",
    "MailboxDN",
    "PublicFolderServer",
    "ActiveDirectoryServer",
    "ExternalMailboxServer",
    "ExternalMailboxServerRequiresSSL",
    "ExternalMailboxServerAuthenticationMethods",
    "EcpVoicemailUrlFragment",
    "EcpEmailSubscriptionsUrlFragment",
    "EcpTextMessagingUrlFragment",
    "EcpDeliveryReportUrlFragment",
    "EcpRetentionPolicyTagsUrlFragment",
    "EcpPublishingUrlFragment",
    "EcpPhotoUrlFragment",
    "EcpConnectUrlFragment",
    "EcpTeamMailboxUrlFragment",
    "EcpTeamMailboxCreatingUrlFragment",
    "EcpTeamMailboxEditingUrlFragment",
    "EcpExtensionInstallationUrlFragment",
    "ExternalEcpUrl",
    "ExternalEcpVoicemailUrl",
    "ExternalEcpEmailSubscriptionsUrl",
    "ExternalEcpTextMessagingUrl",
    "ExternalEcpDeliveryReportUrl",
    "ExternalEcpRetentionPolicyTagsUrl",
    "ExternalEcpPublishingUrl",
    "ExternalEcpPhotoUrl",
    "ExternalEcpConnectUrl",
    "ExternalEcpTeamMailboxUrl",
    "ExternalEcpTeamMailboxCreatingUrl",
    "ExternalEcpTeamMailboxEditingUrl",
    "ExternalEcpTeamMailboxHidingUrl",
    "ExternalEcpExtensionInstallationUrl",
    "ExternalEwsUrl",
    "ExternalEmwsUrl",
    "ExternalOABUrl",
    "ExternalPhotosUrl",
    "ExternalUMUrl",
    "ExternalWebClientUrls",
    "CrossOrganizationSharingEnabled",
    "AlternateMailboxes",
    "CasVersion",
    "EwsSupportedSchemas",
    "InternalPop3Connections",
    "ExternalPop3Connections",
    "InternalImap4Connections",
    "ExternalImap4Connections",
    "InternalSmtpConnections",
    "ExternalSmtpConnections",
    "InternalServerExclusiveConnect",
    "ExternalEwsVersion",
    "MobileMailboxPolicy",
    "DocumentSharingLocations",
    "UserMSOnline",
    "InternalMailboxServerAuthenticationMethods",
    "MailboxVersion",
    "SPMySiteHostURL",
    "SiteMailboxCreationURL",
    "InternalRpcHttpServer",
    "InternalRpcHttpConnectivityRequiresSsl",
    "InternalRpcHttpAuthenticationMethod",
    "ExternalServerExclusiveConnect",
    "ExchangeRpcUrl",
    "ShowGalAsDefaultView",
    "AutoDiscoverSMTPAddress",
    "InteropExternalEwsUrl",
    "InteropExternalEwsVersion",
    "PublicFolderInformation",
    "RedirectUrl",
    "EwsPartnerUrl",
    "CertPrincipalName",
    "GroupingInformation",
    "MapiHttpEnabled",
];

/// Settings a SOAP request asks for when the caller does not choose: enough to reach EWS and
/// to describe the mailbox.
pub const DEFAULT_SOAP_SETTINGS: &[&str] = &[
    "UserDisplayName",
    "UserDN",
    "UserDeploymentId",
    "AutoDiscoverSMTPAddress",
    "ExternalEwsUrl",
    "InternalEwsUrl",
    "EwsSupportedSchemas",
    "CasVersion",
    "ExternalEwsVersion",
    "MailboxDN",
    "InternalMailboxServer",
    "ExternalMailboxServer",
    "ExternalWebClientUrls",
    "InternalWebClientUrls",
    "AlternateMailboxes",
];

/// The name of one requestable SOAP user setting, checked against [`KNOWN_SETTINGS`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SettingName(&'static str);

impl SettingName {
    /// Parses a setting name; matching is case-insensitive and yields the canonical spelling.
    ///
    /// # Errors
    /// [`Error::UnknownSetting`] names the input and lists every valid name.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let name = name.trim();
        KNOWN_SETTINGS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(name))
            .map(|known| SettingName(known))
            .ok_or_else(|| Error::UnknownSetting {
                name: name.to_owned(),
                valid: KNOWN_SETTINGS.join(", "),
            })
    }

    /// Builds a name from an entry of [`KNOWN_SETTINGS`].
    pub(crate) fn new(known: &'static str) -> Self {
        SettingName(known)
    }

    /// Returns the canonical spelling.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for SettingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One entry of a `WebClientUrls` collection: an Outlook on the web URL and how to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WebClientUrl {
    /// Comma-separated authentication methods, as the server wrote them.
    pub authentication_methods: String,
    /// The URL.
    pub url: String,
}

/// One entry of a POP3, IMAP4 or SMTP connection collection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ProtocolConnection {
    /// Host name of the server.
    pub hostname: String,
    /// TCP port, when the server sent a valid one.
    pub port: Option<u16>,
    /// `None`, `SSL` or `TLS`, as the server wrote it.
    pub encryption_method: String,
}

/// The value of one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
pub enum SettingValue {
    /// A `StringSetting` (SOAP) or a text element (POX).
    Text(String),
    /// A `WebClientUrlCollectionSetting`.
    WebClientUrls(Vec<WebClientUrl>),
    /// A `ProtocolConnectionCollectionSetting`.
    ProtocolConnections(Vec<ProtocolConnection>),
    /// Any other collection: alternate mailboxes, document sharing locations, POX `Protocol`
    /// elements, and collection types this crate does not know. Each record maps the child
    /// element names to their text.
    Records(Vec<BTreeMap<String, String>>),
}

impl SettingValue {
    /// Returns the text of a text setting.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SettingValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// All settings of one response, by name; names are kept as the server spelled them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Settings(BTreeMap<String, SettingValue>);

impl Settings {
    /// Returns the value of `name`, matching the name exactly.
    pub fn get(&self, name: &str) -> Option<&SettingValue> {
        self.0.get(name)
    }

    /// Returns the text of the text setting `name`, if present and not empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(SettingValue::as_text)
            .filter(|text| !text.is_empty())
    }

    /// Stores `value` under `name`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<String>, value: SettingValue) {
        self.0.insert(name.into(), value);
    }

    /// Iterates the settings in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SettingValue)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// Returns the number of settings.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns whether there are no settings.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
