//! The SOAP flavour: `GetUserSettings` requests and responses (MS-OXWSADISC).
//!
//! [`request_body`] builds the envelope to POST to `/autodiscover/autodiscover.svc` with the
//! [`SOAP_ACTION`] header; [`parse_response`] turns the reply into an [`Answer`]. Both are pure
//! functions of their inputs.

use std::collections::BTreeMap;

use quick_xml::escape::escape;
use url::Url;

use crate::answer::{
    Answer, ErrorCode, ErrorLevel, ResponseError, ServerError, SettingError, UserSettings,
};
use crate::request::EmailAddress;
use crate::settings::{ProtocolConnection, SettingName, SettingValue, Settings, WebClientUrl};
use crate::xml::{self, excerpt, Element};

/// The `SOAPAction` header value for `GetUserSettings` (MS-OXWSADISC section 3.1.4.4).
pub const SOAP_ACTION: &str =
    "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings";

/// The `RequestedServerVersion` sent in every request.
///
/// Microsoft's `RequestedServerVersion` reference gives `Exchange2013` as the value for clients
/// that target Exchange Online and Exchange 2013 or later.
// NOTE: an Exchange 2010 server may reject this value; it is out of support and not tested here.
const REQUESTED_SERVER_VERSION: &str = "Exchange2013";

const SOAP_1_1_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP_1_2_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
const AUTODISCOVER_NS: &str = "http://schemas.microsoft.com/exchange/2010/Autodiscover";
const SCHEMA_INSTANCE_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

const EXPECTED_ROOT: &str = "{http://schemas.xmlsoap.org/soap/envelope/}Envelope or \
     {http://www.w3.org/2003/05/soap-envelope}Envelope";

/// Builds a UTF-8 `GetUserSettingsRequestMessage` envelope asking for `settings` of `email`.
///
/// `url` is the endpoint the request is sent to and becomes the WS-Addressing `To` header. Values
/// are XML-escaped. `settings` should not be empty: `Request::settings` rejects an empty list.
#[must_use]
pub fn request_body(email: &EmailAddress, settings: &[SettingName], url: &Url) -> Vec<u8> {
    let mut body = String::with_capacity(1024 + settings.len() * 64);
    body.push_str(concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        "\n",
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" "#,
        r#"xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover" "#,
        r#"xmlns:wsa="http://www.w3.org/2005/08/addressing" "#,
        r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
        "\n  <soap:Header>\n",
    ));
    push_element(
        &mut body,
        4,
        "a:RequestedServerVersion",
        REQUESTED_SERVER_VERSION,
    );
    push_element(&mut body, 4, "wsa:Action", SOAP_ACTION);
    push_element(&mut body, 4, "wsa:To", url.as_str());
    body.push_str(concat!(
        "  </soap:Header>\n",
        "  <soap:Body>\n",
        "    <a:GetUserSettingsRequestMessage>\n",
        "      <a:Request>\n",
        "        <a:Users>\n",
        "          <a:User>\n",
    ));
    push_element(&mut body, 12, "a:Mailbox", email.as_str());
    body.push_str(concat!(
        "          </a:User>\n",
        "        </a:Users>\n",
        "        <a:RequestedSettings>\n",
    ));
    for setting in settings {
        push_element(&mut body, 10, "a:Setting", setting.as_str());
    }
    body.push_str(concat!(
        "        </a:RequestedSettings>\n",
        "      </a:Request>\n",
        "    </a:GetUserSettingsRequestMessage>\n",
        "  </soap:Body>\n",
        "</soap:Envelope>\n",
    ));
    body.into_bytes()
}

fn push_element(body: &mut String, indent: usize, name: &str, text: &str) {
    for _ in 0..indent {
        body.push(' ');
    }
    body.push('<');
    body.push_str(name);
    body.push('>');
    body.push_str(&escape(text));
    body.push_str("</");
    body.push_str(name);
    body.push_str(">\n");
}

/// Parses a `GetUserSettings` response body.
///
/// The request-level `Response/ErrorCode` is read first: any code but `NoError` is an
/// [`ErrorLevel::Request`] error, except `RedirectAddress` and `RedirectUrl`, which are followed
/// like user-level redirects. Then the first `UserResponse` decides: a redirect code gives
/// [`Answer::RedirectAddress`] or [`Answer::RedirectUrl`] with its `RedirectTarget`, `NoError`
/// (or no code) gives [`Answer::Settings`] with the `UserSettingErrors` as warnings, and any
/// other code an [`ErrorLevel::User`] error. Decisions use [`ErrorCode::from_soap`] only, never
/// the message text.
///
/// # Errors
/// - [`ResponseError::UnexpectedRoot`] when the root is not a SOAP 1.1 or 1.2 `Envelope`.
/// - [`ResponseError::Fault`] for a SOAP fault, with its code and reason.
/// - [`ResponseError::Missing`] when `Body`, `GetUserSettingsResponseMessage`, `Response` or
///   `UserResponse` is absent, or a redirect has no `RedirectTarget`.
/// - Any error of reading the XML itself: see the `xml` module (encoding, entities, limits).
pub fn parse_response(body: &[u8]) -> Result<Answer, ResponseError> {
    let document = xml::parse(
        body,
        &[(SOAP_1_1_NS, "Envelope"), (SOAP_1_2_NS, "Envelope")],
        EXPECTED_ROOT,
    )?;
    let envelope = document.root();
    let soap_ns = envelope.namespace();

    let soap_body = envelope
        .child(soap_ns, "Body")
        .ok_or(ResponseError::Missing("Body"))?;
    if let Some(fault) = soap_body.child(soap_ns, "Fault") {
        return Err(ResponseError::Fault(describe_fault(fault, soap_ns)));
    }
    let response = soap_body
        .child(AUTODISCOVER_NS, "GetUserSettingsResponseMessage")
        .ok_or(ResponseError::Missing("GetUserSettingsResponseMessage"))?
        .child(AUTODISCOVER_NS, "Response")
        .ok_or(ResponseError::Missing("Response"))?;
    let user_response = response
        .child(AUTODISCOVER_NS, "UserResponses")
        .and_then(|responses| responses.child(AUTODISCOVER_NS, "UserResponse"));

    let (code, raw_code) = read_code(response);
    match code {
        ErrorCode::NoError => {}
        ErrorCode::RedirectAddress | ErrorCode::RedirectUrl => {
            let target = [Some(response), user_response]
                .into_iter()
                .flatten()
                .find_map(redirect_target)
                .ok_or(ResponseError::Missing("RedirectTarget"))?;
            return Ok(redirect(code, target));
        }
        _ => {
            return Ok(Answer::Error(server_error(
                ErrorLevel::Request,
                code,
                raw_code,
                response,
            )))
        }
    }

    let user_response = user_response.ok_or(ResponseError::Missing("UserResponse"))?;
    let (code, raw_code) = read_code(user_response);
    match code {
        ErrorCode::NoError => {
            let mut settings = read_user_settings(user_response);
            if let Some(version) = server_version_info(envelope, soap_ns) {
                settings
                    .settings
                    .insert("ServerVersionInfo", SettingValue::Text(version));
            }
            Ok(Answer::Settings(settings))
        }
        ErrorCode::RedirectAddress | ErrorCode::RedirectUrl => {
            let target =
                redirect_target(user_response).ok_or(ResponseError::Missing("RedirectTarget"))?;
            Ok(redirect(code, target))
        }
        _ => Ok(Answer::Error(server_error(
            ErrorLevel::User,
            code,
            raw_code,
            user_response,
        ))),
    }
}

/// Reads the `ServerVersionInfo` SOAP header as `major.minor.build.revision`, the form Exchange
/// prints its build numbers in, or `None` when the header or its major version is missing.
fn server_version_info(envelope: Element<'_>, soap_ns: &str) -> Option<String> {
    let info = envelope
        .child(soap_ns, "Header")?
        .child(AUTODISCOVER_NS, "ServerVersionInfo")?;
    let part = |name: &str| {
        info.child_text(AUTODISCOVER_NS, name)
            .map(str::trim)
            .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
    };
    let major = part("MajorVersion")?;
    let mut version = major.to_owned();
    for name in ["MinorVersion", "MajorBuildNumber", "MinorBuildNumber"] {
        match part(name) {
            Some(number) => {
                version.push('.');
                version.push_str(number);
            }
            None => break,
        }
    }
    Some(version)
}

/// Reads the `ErrorCode` child of `parent`. A missing or empty code counts as `NoError`, so a
/// response that leaves the code out is judged by its content.
fn read_code(parent: Element<'_>) -> (ErrorCode, &str) {
    let raw_code = parent
        .child_text(AUTODISCOVER_NS, "ErrorCode")
        .unwrap_or("");
    if raw_code.is_empty() {
        (ErrorCode::NoError, raw_code)
    } else {
        (ErrorCode::from_soap(raw_code), raw_code)
    }
}

fn server_error(
    level: ErrorLevel,
    code: ErrorCode,
    raw_code: &str,
    parent: Element<'_>,
) -> ServerError {
    ServerError {
        level,
        code,
        raw_code: excerpt(raw_code),
        message: excerpt(
            parent
                .child_text(AUTODISCOVER_NS, "ErrorMessage")
                .unwrap_or(""),
        ),
        debug_data: None,
    }
}

/// Returns the non-empty text of the `RedirectTarget` child of `parent`.
fn redirect_target(parent: Element<'_>) -> Option<String> {
    parent
        .child_text(AUTODISCOVER_NS, "RedirectTarget")
        .filter(|target| !target.is_empty())
        .map(str::to_owned)
}

fn redirect(code: ErrorCode, target: String) -> Answer {
    if code == ErrorCode::RedirectAddress {
        Answer::RedirectAddress(target)
    } else {
        Answer::RedirectUrl(target)
    }
}

/// Describes a fault as `code: reason`. SOAP 1.1 puts `faultcode` and `faultstring` in no
/// namespace; SOAP 1.2 uses `Code/Value` and `Reason/Text` in the envelope namespace.
fn describe_fault(fault: Element<'_>, soap_ns: &str) -> String {
    let (code, reason) = if soap_ns == SOAP_1_2_NS {
        (
            fault
                .child(soap_ns, "Code")
                .and_then(|code| code.child_text(soap_ns, "Value")),
            fault
                .child(soap_ns, "Reason")
                .and_then(|reason| reason.child_text(soap_ns, "Text")),
        )
    } else {
        (
            fault.child_text("", "faultcode"),
            fault.child_text("", "faultstring"),
        )
    };
    let code = code.filter(|code| !code.is_empty()).unwrap_or("no code");
    let reason = reason.unwrap_or("");
    excerpt(&format!("{code}: {reason}"))
}

/// Reads `UserSettings` and `UserSettingErrors` of a successful `UserResponse`.
fn read_user_settings(user_response: Element<'_>) -> UserSettings {
    let mut settings = Settings::default();
    let user_settings = user_response.child(AUTODISCOVER_NS, "UserSettings");
    for setting in user_settings
        .iter()
        .flat_map(|parent| parent.children_named(AUTODISCOVER_NS, "UserSetting"))
    {
        let Some(name) = setting
            .child_text(AUTODISCOVER_NS, "Name")
            .filter(|name| !name.is_empty())
        else {
            tracing::debug!("skipping a UserSetting without a Name");
            continue;
        };
        settings.insert(name, read_setting_value(setting));
    }

    let setting_errors = user_response
        .child(AUTODISCOVER_NS, "UserSettingErrors")
        .iter()
        .flat_map(|parent| parent.children_named(AUTODISCOVER_NS, "UserSettingError"))
        .map(|error| SettingError {
            setting: error
                .child_text(AUTODISCOVER_NS, "SettingName")
                .unwrap_or("")
                .to_owned(),
            code: ErrorCode::from_soap(
                error.child_text(AUTODISCOVER_NS, "ErrorCode").unwrap_or(""),
            ),
            message: excerpt(
                error
                    .child_text(AUTODISCOVER_NS, "ErrorMessage")
                    .unwrap_or(""),
            ),
        })
        .collect();

    UserSettings {
        settings,
        setting_errors,
    }
}

/// Reads the value of one `UserSetting` according to its `xsi:type`.
///
/// A type this crate does not know is read by shape: a `Value` child gives text, any other child
/// element is taken as a collection of records.
fn read_setting_value(setting: Element<'_>) -> SettingValue {
    let setting_type = setting.attribute(SCHEMA_INSTANCE_NS, "type").unwrap_or("");
    // The type is a QName such as `a:StringSetting`. Only the Autodiscover namespace defines
    // setting types, so the prefix is dropped rather than resolved.
    let setting_type = setting_type
        .rsplit_once(':')
        .map_or(setting_type, |(_, local)| local);

    match setting_type {
        "StringSetting" => SettingValue::Text(
            setting
                .child_text(AUTODISCOVER_NS, "Value")
                .unwrap_or("")
                .to_owned(),
        ),
        "WebClientUrlCollectionSetting" => {
            SettingValue::WebClientUrls(read_web_client_urls(setting))
        }
        "ProtocolConnectionCollectionSetting" => {
            SettingValue::ProtocolConnections(read_protocol_connections(setting))
        }
        _ => read_value_by_shape(setting),
    }
}

fn read_web_client_urls(setting: Element<'_>) -> Vec<WebClientUrl> {
    setting
        .child(AUTODISCOVER_NS, "WebClientUrls")
        .iter()
        .flat_map(|urls| urls.children_named(AUTODISCOVER_NS, "WebClientUrl"))
        .map(|url| WebClientUrl {
            authentication_methods: url
                .child_text(AUTODISCOVER_NS, "AuthenticationMethods")
                .unwrap_or("")
                .to_owned(),
            url: url
                .child_text(AUTODISCOVER_NS, "Url")
                .unwrap_or("")
                .to_owned(),
        })
        .collect()
}

fn read_protocol_connections(setting: Element<'_>) -> Vec<ProtocolConnection> {
    setting
        .child(AUTODISCOVER_NS, "ProtocolConnections")
        .iter()
        .flat_map(|connections| connections.children_named(AUTODISCOVER_NS, "ProtocolConnection"))
        .map(|connection| ProtocolConnection {
            hostname: connection
                .child_text(AUTODISCOVER_NS, "Hostname")
                .unwrap_or("")
                .to_owned(),
            port: connection
                .child_text(AUTODISCOVER_NS, "Port")
                .and_then(|port| port.parse().ok()),
            encryption_method: connection
                .child_text(AUTODISCOVER_NS, "EncryptionMethod")
                .unwrap_or("")
                .to_owned(),
        })
        .collect()
}

/// Reads `AlternateMailboxCollectionSetting`, `DocumentSharingLocationCollectionSetting` and
/// unknown setting types: the first Autodiscover-namespace child other than `Name` is either the
/// `Value` (text) or the collection, whose children each become one record.
fn read_value_by_shape(setting: Element<'_>) -> SettingValue {
    let Some(content) = setting
        .children()
        .find(|child| child.namespace() == AUTODISCOVER_NS && child.local_name() != "Name")
    else {
        return SettingValue::Text(String::new());
    };
    if content.is(AUTODISCOVER_NS, "Value") || !content.has_children() {
        return SettingValue::Text(content.text().to_owned());
    }
    SettingValue::Records(
        content
            .children()
            .filter(|entry| entry.namespace() == AUTODISCOVER_NS)
            .map(read_record)
            .collect(),
    )
}

/// Maps each child of `entry` to its text. A child with children of its own (such as
/// `SupportedFileExtensions`) gets the texts of those children joined with `", "`, and repeated
/// names are joined the same way.
fn read_record(entry: Element<'_>) -> BTreeMap<String, String> {
    let mut record: BTreeMap<String, String> = BTreeMap::new();
    for field in entry
        .children()
        .filter(|field| field.namespace() == AUTODISCOVER_NS)
    {
        let value = if field.has_children() {
            field
                .children()
                .filter(|item| item.namespace() == AUTODISCOVER_NS)
                .map(|item| item.text())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            field.text().to_owned()
        };
        record
            .entry(field.local_name().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESSING_NS: &str = "http://www.w3.org/2005/08/addressing";

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
    }

    fn settings_of(name: &str) -> UserSettings {
        match parse_response(&fixture(name)) {
            Ok(Answer::Settings(settings)) => settings,
            other => panic!("{name}: expected settings, got {other:?}"),
        }
    }

    fn text<'s>(settings: &'s UserSettings, name: &str) -> Option<&'s str> {
        settings.settings.get(name).and_then(SettingValue::as_text)
    }

    fn record(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn server_version_info_header_is_kept() {
        let body = std::fs::read(format!(
            "{}/tests/fixtures/soap-settings-full.xml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let Ok(Answer::Settings(settings)) = parse_response(&body) else {
            panic!("the fixture has settings");
        };
        assert_eq!(
            settings.settings.text("ServerVersionInfo"),
            Some("15.20.7452.12")
        );
    }

    #[test]
    fn request_body_has_headers_and_settings() {
        let email = EmailAddress::parse("o'brien&co@example.com").unwrap();
        let url =
            Url::parse("https://autodiscover.example.com/autodiscover/autodiscover.svc?a=1&b=2")
                .unwrap();
        let settings = [
            SettingName::parse("ExternalEwsUrl").unwrap(),
            SettingName::parse("UserDisplayName").unwrap(),
        ];
        let body = String::from_utf8(request_body(&email, &settings, &url)).unwrap();

        assert!(body.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#));
        assert!(body.contains("<a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion>"));
        assert!(body.contains(&format!("<wsa:Action>{SOAP_ACTION}</wsa:Action>")));
        assert!(body.contains(
            "<wsa:To>https://autodiscover.example.com/autodiscover/autodiscover.svc?a=1&amp;b=2</wsa:To>"
        ));
        assert!(body.contains("<a:Mailbox>o&apos;brien&amp;co@example.com</a:Mailbox>"));
        assert!(body.contains("<a:Setting>ExternalEwsUrl</a:Setting>"));
        assert!(body.contains("<a:Setting>UserDisplayName</a:Setting>"));
    }

    #[test]
    fn request_body_is_well_formed() {
        let email = EmailAddress::parse("alice@example.com").unwrap();
        let url = Url::parse("https://example.com/autodiscover/autodiscover.svc").unwrap();
        let settings = [SettingName::parse("ExternalEwsUrl").unwrap()];
        let body = request_body(&email, &settings, &url);
        let document = xml::parse(&body, &[(SOAP_1_1_NS, "Envelope")], "x").unwrap();
        let envelope = document.root();

        let header = envelope.child(SOAP_1_1_NS, "Header").unwrap();
        assert_eq!(
            header.child_text(ADDRESSING_NS, "Action"),
            Some(SOAP_ACTION)
        );
        assert_eq!(header.child_text(ADDRESSING_NS, "To"), Some(url.as_str()));
        let request = envelope
            .child(SOAP_1_1_NS, "Body")
            .and_then(|body| body.child(AUTODISCOVER_NS, "GetUserSettingsRequestMessage"))
            .and_then(|message| message.child(AUTODISCOVER_NS, "Request"))
            .unwrap();
        let mailbox = request
            .child(AUTODISCOVER_NS, "Users")
            .and_then(|users| users.child(AUTODISCOVER_NS, "User"))
            .and_then(|user| user.child_text(AUTODISCOVER_NS, "Mailbox"));
        assert_eq!(mailbox, Some("alice@example.com"));
    }

    #[test]
    fn settings_of_every_type() {
        let settings = settings_of("soap-settings-full.xml");
        let values = &settings.settings;

        assert_eq!(
            text(&settings, "UserDisplayName"),
            Some("Alice Ångström-Ñúñez & Co")
        );
        assert_eq!(
            text(&settings, "ExternalEwsUrl"),
            Some("https://mail.example.com/EWS/Exchange.asmx")
        );
        assert_eq!(text(&settings, "InternalEwsUrl"), Some(""));
        assert_eq!(
            values.get("ExternalWebClientUrls"),
            Some(&SettingValue::WebClientUrls(vec![
                WebClientUrl {
                    authentication_methods: "Fba".into(),
                    url: "https://mail.example.com/owa/".into(),
                },
                WebClientUrl {
                    authentication_methods: "Ntlm, WindowsIntegrated".into(),
                    url: "https://mail.example.com/owa/integrated/".into(),
                },
            ]))
        );
        assert_eq!(
            values.get("ExternalImap4Connections"),
            Some(&SettingValue::ProtocolConnections(vec![
                ProtocolConnection {
                    hostname: "imap.example.com".into(),
                    port: Some(993),
                    encryption_method: "SSL".into(),
                },
                ProtocolConnection {
                    hostname: "imap.example.com".into(),
                    port: None,
                    encryption_method: "TLS".into(),
                },
            ]))
        );
        assert_eq!(
            values.get("AlternateMailboxes"),
            Some(&SettingValue::Records(vec![record(&[
                ("Type", "Archive"),
                ("DisplayName", "In-Place Archive - Alice"),
                (
                    "LegacyDN",
                    "/o=ExampleOrg/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice/guid=0b7d5f2e"
                ),
                ("Server", "archive.example.com"),
            ])]))
        );
        let Some(SettingValue::Records(locations)) = values.get("DocumentSharingLocations") else {
            panic!(
                "DocumentSharingLocations: {:?}",
                values.get("DocumentSharingLocations")
            );
        };
        assert_eq!(locations.len(), 1);
        assert_eq!(
            locations[0]
                .get("SupportedFileExtensions")
                .map(String::as_str),
            Some("docx, xlsx")
        );
        assert_eq!(
            locations[0].get("IsDefault").map(String::as_str),
            Some("true")
        );
        assert_eq!(text(&settings, "FutureTextSetting"), Some("future value"));
        assert_eq!(
            values.get("FutureCollection"),
            Some(&SettingValue::Records(vec![record(&[
                ("Key", "one"),
                ("Data", "1")
            ])]))
        );
        assert_eq!(
            values.len(),
            10,
            "the nameless setting is skipped and the version header is kept: {values:?}"
        );
    }

    #[test]
    fn setting_errors_are_warnings() {
        let settings = settings_of("soap-settings-full.xml");
        assert_eq!(
            settings.setting_errors,
            vec![
                SettingError {
                    setting: "ExternalMailboxServer".into(),
                    code: ErrorCode::SettingIsNotAvailable,
                    message: "User setting 'ExternalMailboxServer' is not available.".into(),
                },
                SettingError {
                    setting: "ExternalUMUrl".into(),
                    code: ErrorCode::InvalidSetting,
                    message: "The requested setting is invalid.".into(),
                },
            ]
        );
    }

    #[test]
    fn field_case_settings_with_setting_error() {
        let settings = settings_of("soap-settings-setting-error.xml");
        assert_eq!(
            text(&settings, "ExternalEwsUrl"),
            Some("https://mail.example.org/EWS/Exchange.asmx")
        );
        assert_eq!(settings.setting_errors.len(), 1);
        assert_eq!(settings.setting_errors[0].setting, "ExternalMailboxServer");
        assert_eq!(
            settings.setting_errors[0].code,
            ErrorCode::SettingIsNotAvailable
        );

        let settings = settings_of("soap-settings-office365.xml");
        assert_eq!(
            text(&settings, "ExternalEwsUrl"),
            Some("https://outlook.office365.com/EWS/Exchange.asmx")
        );
        assert!(settings.setting_errors.is_empty());
    }

    #[test]
    fn user_level_redirects() {
        assert_eq!(
            parse_response(&fixture("soap-redirect-address.xml")),
            Ok(Answer::RedirectAddress("alice@example.org".into()))
        );
        assert_eq!(
            parse_response(&fixture("soap-redirect-url.xml")),
            Ok(Answer::RedirectUrl(
                "https://autodiscover.example.org/autodiscover/autodiscover.svc".into()
            ))
        );
    }

    #[test]
    fn redirect_without_target_is_missing() {
        assert_eq!(
            parse_response(&fixture("soap-redirect-missing-target.xml")),
            Err(ResponseError::Missing("RedirectTarget"))
        );
    }

    #[test]
    fn request_level_redirect_is_followed() {
        assert_eq!(
            parse_response(&fixture("soap-request-redirect-url.xml")),
            Ok(Answer::RedirectUrl(
                "https://autodiscover.example.net/autodiscover/autodiscover.svc".into()
            ))
        );
    }

    #[test]
    fn request_level_error() {
        assert_eq!(
            parse_response(&fixture("soap-request-error.xml")),
            Ok(Answer::Error(ServerError {
                level: ErrorLevel::Request,
                code: ErrorCode::InvalidRequest,
                raw_code: "InvalidRequest".into(),
                message: "The request is invalid.".into(),
                debug_data: None,
            }))
        );
    }

    #[test]
    fn user_level_error_ignores_message_language() {
        assert_eq!(
            parse_response(&fixture("soap-user-error.xml")),
            Ok(Answer::Error(ServerError {
                level: ErrorLevel::User,
                code: ErrorCode::InvalidUser,
                raw_code: "InvalidUser".into(),
                message: "Die E-Mail-Adresse wurde nicht gefunden.".into(),
                debug_data: None,
            }))
        );
    }

    #[test]
    fn unknown_code_is_other() {
        let body = fixture("soap-user-error.xml");
        let body = String::from_utf8(body)
            .unwrap()
            .replace(">InvalidUser<", ">SomethingNew<");
        let Ok(Answer::Error(error)) = parse_response(body.as_bytes()) else {
            panic!("expected an error answer");
        };
        assert_eq!(error.code, ErrorCode::Other);
        assert_eq!(error.raw_code, "SomethingNew");
    }

    #[test]
    fn faults_carry_code_and_reason() {
        assert_eq!(
            parse_response(&fixture("soap-fault.xml")),
            Err(ResponseError::Fault(
                "a:ErrorInvalidServerVersion: The server version in the request is invalid.".into()
            ))
        );
        assert_eq!(
            parse_response(&fixture("soap12-fault.xml")),
            Err(ResponseError::Fault(
                "env:Sender: The message could not be processed because the action is not supported."
                    .into()
            ))
        );
    }

    #[test]
    fn soap_1_2_envelope_parses() {
        let settings = settings_of("soap12-settings.xml");
        assert_eq!(
            text(&settings, "ExternalEwsUrl"),
            Some("https://mail.example.com/EWS/Exchange.asmx")
        );
    }

    #[test]
    fn other_prefixes_parse() {
        let settings = settings_of("soap-settings-other-prefixes.xml");
        assert_eq!(
            text(&settings, "ExternalEwsUrl"),
            Some("https://mail.example.net/EWS/Exchange.asmx")
        );
        assert_eq!(text(&settings, "UserDisplayName"), Some("Bob Example"));
    }

    #[test]
    fn wrong_namespace_is_not_matched() {
        assert_eq!(
            parse_response(&fixture("soap-wrong-namespace.xml")),
            Err(ResponseError::Missing("GetUserSettingsResponseMessage"))
        );
        let settings = settings_of("soap-settings-wrong-namespace-children.xml");
        assert_eq!(
            text(&settings, "ExternalEwsUrl"),
            Some("https://mail.example.com/EWS/Exchange.asmx")
        );
        assert_eq!(settings.settings.len(), 1);
    }

    #[test]
    fn non_soap_bodies_are_rejected() {
        let error = parse_response(&fixture("html-login-page.html")).unwrap_err();
        assert_eq!(
            error,
            ResponseError::UnexpectedRoot {
                found: "{http://www.w3.org/1999/xhtml}html".into(),
                expected: EXPECTED_ROOT,
            }
        );
        assert!(matches!(
            parse_response(&fixture("pox-settings-utf8.xml")),
            Err(ResponseError::UnexpectedRoot { .. })
        ));
        assert!(matches!(
            parse_response(&fixture("not-xml.json")),
            Err(ResponseError::Malformed(_))
        ));
        assert!(matches!(
            parse_response(&fixture("truncated.xml")),
            Err(ResponseError::Malformed(_))
        ));
        assert_eq!(
            parse_response(&fixture("empty.xml")),
            Err(ResponseError::Empty)
        );
    }

    #[test]
    fn missing_parts_are_named() {
        let cases: &[(&str, &str)] = &[
            (
                "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'/>",
                "Body",
            ),
            (
                "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>\
                 <GetUserSettingsResponseMessage \
                 xmlns='http://schemas.microsoft.com/exchange/2010/Autodiscover'/></s:Body></s:Envelope>",
                "Response",
            ),
            (
                "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>\
                 <GetUserSettingsResponseMessage \
                 xmlns='http://schemas.microsoft.com/exchange/2010/Autodiscover'><Response>\
                 <ErrorCode>NoError</ErrorCode><UserResponses/></Response>\
                 </GetUserSettingsResponseMessage></s:Body></s:Envelope>",
                "UserResponse",
            ),
        ];
        for (body, missing) in cases {
            assert_eq!(
                parse_response(body.as_bytes()),
                Err(ResponseError::Missing(missing)),
                "{body}"
            );
        }
    }

    #[test]
    fn long_server_text_is_cut() {
        let message = "x".repeat(1_000);
        let body = String::from_utf8(fixture("soap-user-error.xml"))
            .unwrap()
            .replace("Die E-Mail-Adresse wurde nicht gefunden.", &message);
        let Ok(Answer::Error(error)) = parse_response(body.as_bytes()) else {
            panic!("expected an error answer");
        };
        assert_eq!(error.message.chars().count(), xml::MAX_QUOTE_CHARS + 1);
    }
}
