//! The POX flavour: plain XML Autodiscover requests and responses for the Outlook 2006a response
//! schema (MS-OXDSCLI).
//!
//! [`request_body`] builds the request to POST to `/autodiscover/autodiscover.xml`;
//! [`parse_response`] turns the reply into an [`Answer`], with settings stored under the SOAP
//! setting names where one has the same meaning, so callers read both flavours alike.

use std::collections::BTreeMap;

use quick_xml::escape::escape;

use crate::answer::{Answer, ErrorCode, ErrorLevel, ResponseError, ServerError, UserSettings};
use crate::request::EmailAddress;
use crate::settings::{SettingValue, Settings};
use crate::xml::{self, excerpt, Element};

/// Namespace of the request document.
const REQUEST_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
/// Namespace of the response root `Autodiscover`, and of `Response` and `Error` in the error
/// responses real servers send.
const AUTODISCOVER_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
/// Namespace of the Outlook response (`Response`, `User`, `Account`, `Protocol`), which the
/// request names as its `AcceptableResponseSchema`.
const OUTLOOK_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

const EXPECTED_ROOT: &str =
    "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}Autodiscover";

/// `User` children stored under the SOAP setting name of the same meaning. Other `User` children
/// keep their own names.
const USER_SETTINGS: &[(&str, &str)] = &[
    ("DisplayName", "UserDisplayName"),
    ("LegacyDN", "UserDN"),
    ("DeploymentId", "UserDeploymentId"),
    ("AutoDiscoverSMTPAddress", "AutoDiscoverSMTPAddress"),
];

/// `(Protocol Type, child element, setting name)`: `EXCH` describes access from inside the
/// organisation and `EXPR` from outside (Outlook Anywhere), matching the SOAP `Internal` and
/// `External` settings. `ServerVersion` has no SOAP equivalent and keeps its POX name.
const PROTOCOL_SETTINGS: &[(&str, &str, &str)] = &[
    ("EXCH", "EwsUrl", "InternalEwsUrl"),
    ("EXPR", "EwsUrl", "ExternalEwsUrl"),
    ("EXCH", "Server", "InternalMailboxServer"),
    ("EXPR", "Server", "ExternalMailboxServer"),
    ("EXCH", "ServerVersion", "ServerVersion"),
    ("EXCH", "OABUrl", "InternalOABUrl"),
    ("EXPR", "OABUrl", "ExternalOABUrl"),
    ("EXCH", "EcpUrl", "InternalEcpUrl"),
    ("EXPR", "EcpUrl", "ExternalEcpUrl"),
];

/// The setting that keeps every `Protocol` element as one record.
const PROTOCOLS_SETTING: &str = "Protocols";

/// `Account` children that decide the kind of [`Answer`] and are not settings.
const ACCOUNT_CONTROL_ELEMENTS: &[&str] = &["Action", "RedirectAddr", "RedirectUrl", "Error"];

/// Builds a UTF-8 POX request for `email` that requests the Outlook 2006a response schema.
#[must_use]
pub fn request_body(email: &EmailAddress) -> Vec<u8> {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            "\n",
            r#"<Autodiscover xmlns="{request_ns}">"#,
            "\n  <Request>\n",
            "    <EMailAddress>{email}</EMailAddress>\n",
            "    <AcceptableResponseSchema>{schema}</AcceptableResponseSchema>\n",
            "  </Request>\n",
            "</Autodiscover>\n",
        ),
        request_ns = REQUEST_NS,
        email = escape(email.as_str()),
        schema = OUTLOOK_NS,
    )
    .into_bytes()
}

/// Parses a POX response body.
///
/// An `Error` element takes precedence. It is found under `{responseschema/2006}Response` (where
/// real servers put it), under `{outlook/responseschema/2006a}Response` or under that
/// `Response`'s `Account`, and may itself be in either namespace. Its numeric `ErrorCode` is
/// mapped by [`ErrorCode::from_pox`]. A non-numeric code becomes [`ErrorCode::Other`] at
/// [`ErrorLevel::Request`], with the text kept in `raw_code`.
///
/// Otherwise `Account/Action`, compared ignoring case, decides: `redirectAddr`, `redirectUrl` or
/// `settings`. A missing or unknown `Action` counts as `settings` when the account has
/// `Protocol` elements.
///
/// # Errors
/// - [`ResponseError::UnexpectedRoot`] when the root is not
///   `{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}Autodiscover`.
/// - [`ResponseError::Missing`] when the 2006a `Response` or its `Account` is absent, when a
///   redirect has no target, or when there is neither a known `Action` nor a `Protocol`.
/// - Any error of reading the XML itself: see the `xml` module (encoding, entities, limits).
pub fn parse_response(body: &[u8]) -> Result<Answer, ResponseError> {
    let document = xml::parse(body, &[(AUTODISCOVER_NS, "Autodiscover")], EXPECTED_ROOT)?;
    let root = document.root();

    if let Some(error) = find_error(root) {
        return Ok(Answer::Error(read_error(error)));
    }

    let response = root
        .child(OUTLOOK_NS, "Response")
        .ok_or(ResponseError::Missing("Response"))?;
    let account = response
        .child(OUTLOOK_NS, "Account")
        .ok_or(ResponseError::Missing("Account"))?;
    let action = account.child_text(OUTLOOK_NS, "Action");

    match action {
        Some(action) if action.eq_ignore_ascii_case("redirectAddr") => Ok(Answer::RedirectAddress(
            required_text(account, "RedirectAddr")?,
        )),
        Some(action) if action.eq_ignore_ascii_case("redirectUrl") => {
            Ok(Answer::RedirectUrl(required_text(account, "RedirectUrl")?))
        }
        Some(action) if action.eq_ignore_ascii_case("settings") => {
            Ok(Answer::Settings(read_settings(response, account)))
        }
        _ => {
            if account.child(OUTLOOK_NS, "Protocol").is_none() {
                return Err(ResponseError::Missing(if action.is_some() {
                    "Protocol"
                } else {
                    "Action"
                }));
            }
            if let Some(action) = action {
                tracing::debug!(
                    action = %excerpt(action),
                    "unknown POX Action; reading settings since Protocol elements are present"
                );
            }
            Ok(Answer::Settings(read_settings(response, account)))
        }
    }
}

fn is_response_ns(namespace: &str) -> bool {
    namespace == AUTODISCOVER_NS || namespace == OUTLOOK_NS
}

/// Finds the `Error` element in any of the places servers and the documentation put it.
fn find_error(root: Element<'_>) -> Option<Element<'_>> {
    root.children()
        .filter(|child| child.local_name() == "Response" && is_response_ns(child.namespace()))
        .find_map(|response| {
            error_child(response)
                .or_else(|| response.child(OUTLOOK_NS, "Account").and_then(error_child))
        })
}

fn read_error(error: Element<'_>) -> ServerError {
    let namespace = error.namespace();
    let raw_code = error.child_text(namespace, "ErrorCode").unwrap_or("");
    let (code, level) = raw_code
        .parse::<u16>()
        .map_or((ErrorCode::Other, ErrorLevel::Request), ErrorCode::from_pox);
    let debug_data = error
        .child_text(namespace, "DebugData")
        .filter(|data| !data.is_empty())
        .map(excerpt);
    ServerError {
        level,
        code,
        raw_code: excerpt(raw_code),
        message: excerpt(error.child_text(namespace, "Message").unwrap_or("")),
        debug_data,
    }
}

fn error_child(parent: Element<'_>) -> Option<Element<'_>> {
    parent
        .children()
        .find(|child| child.local_name() == "Error" && is_response_ns(child.namespace()))
}

/// Returns the non-empty text of the `Account` child `name`, the target of a redirect.
fn required_text(account: Element<'_>, name: &'static str) -> Result<String, ResponseError> {
    account
        .child_text(OUTLOOK_NS, name)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
        .ok_or(ResponseError::Missing(name))
}

/// Reads `User` and `Account` into settings under SOAP names where one fits. The first value
/// found for a name wins, so a second `EXPR` protocol does not replace the first.
fn read_settings(response: Element<'_>, account: Element<'_>) -> UserSettings {
    let mut settings = Settings::default();

    for field in response
        .child(OUTLOOK_NS, "User")
        .iter()
        .flat_map(|user| user.children())
        .filter(|field| field.namespace() == OUTLOOK_NS && !field.has_children())
    {
        let name = USER_SETTINGS
            .iter()
            .find(|(pox_name, _)| *pox_name == field.local_name())
            .map_or(field.local_name(), |(_, soap_name)| soap_name);
        insert_text(&mut settings, name, field.text());
    }

    let mut protocols = Vec::new();
    let mut collections: BTreeMap<&str, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for field in account
        .children()
        .filter(|field| field.namespace() == OUTLOOK_NS)
    {
        let name = field.local_name();
        if name == "Protocol" {
            read_protocol_settings(field, &mut settings);
            protocols.push(read_record(field));
        } else if ACCOUNT_CONTROL_ELEMENTS.contains(&name) {
            // Already read by `parse_response`.
        } else if field.has_children() {
            collections
                .entry(name)
                .or_default()
                .push(read_record(field));
        } else {
            insert_text(&mut settings, name, field.text());
        }
    }

    if !protocols.is_empty() {
        settings.insert(PROTOCOLS_SETTING, SettingValue::Records(protocols));
    }
    for (name, records) in collections {
        if settings.get(name).is_none() {
            settings.insert(name, SettingValue::Records(records));
        }
    }

    UserSettings {
        settings,
        setting_errors: Vec::new(),
    }
}

/// Stores the [`PROTOCOL_SETTINGS`] of one `EXCH` or `EXPR` protocol.
fn read_protocol_settings(protocol: Element<'_>, settings: &mut Settings) {
    let protocol_type = protocol_type(protocol);
    for (setting_type, element, setting) in PROTOCOL_SETTINGS {
        if !protocol_type.eq_ignore_ascii_case(setting_type) {
            continue;
        }
        if let Some(value) = protocol.child_text(OUTLOOK_NS, element) {
            insert_text(settings, setting, value);
        }
    }
}

/// Returns the protocol type, given either as a `Type` attribute (`<Protocol Type="mapiHttp">`)
/// or as a `Type` child element (`<Type>EXCH</Type>`).
fn protocol_type(protocol: Element<'_>) -> &str {
    protocol
        .attribute("", "Type")
        .or_else(|| protocol.child_text(OUTLOOK_NS, "Type"))
        .map_or("", |value| value.trim_matches(xml::is_xml_whitespace))
}

/// Turns an element into a record: its unprefixed attributes, then its descendant elements in
/// the 2006a namespace, nested ones under `/`-joined paths (`MailStore/ExternalUrl`). Repeated
/// keys are joined with `", "`.
fn read_record(element: Element<'_>) -> BTreeMap<String, String> {
    let mut record = BTreeMap::new();
    for (namespace, name, value) in element.attributes() {
        if namespace.is_empty() {
            append(&mut record, name.to_owned(), value);
        }
    }
    flatten_into(element, "", &mut record);
    record
}

/// Adds the leaf descendants of `element` to `record`. Recursion depth is bounded by
/// [`xml::MAX_DEPTH`].
fn flatten_into(element: Element<'_>, prefix: &str, record: &mut BTreeMap<String, String>) {
    for child in element
        .children()
        .filter(|child| child.namespace() == OUTLOOK_NS)
    {
        let key = if prefix.is_empty() {
            child.local_name().to_owned()
        } else {
            format!("{prefix}/{}", child.local_name())
        };
        if child.has_children() {
            flatten_into(child, &key, record);
        } else {
            append(record, key, child.text());
        }
    }
}

fn append(record: &mut BTreeMap<String, String>, key: String, value: &str) {
    record
        .entry(key)
        .and_modify(|existing| {
            existing.push_str(", ");
            existing.push_str(value);
        })
        .or_insert_with(|| value.to_owned());
}

/// Stores a non-empty `text` under `name` unless `name` already has a value.
fn insert_text(settings: &mut Settings, name: &str, text: &str) {
    if !text.is_empty() && settings.get(name).is_none() {
        settings.insert(name, SettingValue::Text(text.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISPLAY_NAME: &str = "Alice Ångström-Ñúñez";
    const EWS_URL: &str = "https://mail.example.com/EWS/Exchange.asmx";

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
    }

    fn settings_of(name: &str) -> Settings {
        match parse_response(&fixture(name)) {
            Ok(Answer::Settings(settings)) => settings.settings,
            other => panic!("{name}: expected settings, got {other:?}"),
        }
    }

    fn error_of(name: &str) -> ServerError {
        match parse_response(&fixture(name)) {
            Ok(Answer::Error(error)) => error,
            other => panic!("{name}: expected an error answer, got {other:?}"),
        }
    }

    fn records<'s>(settings: &'s Settings, name: &str) -> &'s [BTreeMap<String, String>] {
        match settings.get(name) {
            Some(SettingValue::Records(records)) => records,
            other => panic!("{name}: expected records, got {other:?}"),
        }
    }

    fn field<'r>(record: &'r BTreeMap<String, String>, key: &str) -> Option<&'r str> {
        record.get(key).map(String::as_str)
    }

    #[test]
    fn request_body_names_address_and_schema() {
        let email = EmailAddress::parse("o'brien&co@example.com").unwrap();
        let body = request_body(&email);
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#));
        assert!(text.contains("<EMailAddress>o&apos;brien&amp;co@example.com</EMailAddress>"));

        let document = xml::parse(&body, &[(REQUEST_NS, "Autodiscover")], "x").unwrap();
        let request = document.root().child(REQUEST_NS, "Request").unwrap();
        assert_eq!(
            request.child_text(REQUEST_NS, "EMailAddress"),
            Some("o'brien&co@example.com")
        );
        assert_eq!(
            request.child_text(REQUEST_NS, "AcceptableResponseSchema"),
            Some("http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a")
        );
    }

    #[test]
    fn encoding_variants_give_same_settings() {
        for name in [
            "pox-settings-utf8.xml",
            "pox-settings-utf8-bom.xml",
            "pox-settings-utf16le-bom.xml",
            "pox-settings-utf16be-bom.xml",
            "pox-settings-no-declaration.xml",
            "pox-settings-latin1.xml",
            "pox-settings-windows1252.xml",
        ] {
            let settings = settings_of(name);
            assert_eq!(
                settings.text("UserDisplayName"),
                Some(DISPLAY_NAME),
                "{name}"
            );
            assert_eq!(settings.text("ExternalEwsUrl"), Some(EWS_URL), "{name}");
        }
    }

    #[test]
    fn windows_1252_punctuation_decodes() {
        let settings = settings_of("pox-settings-windows1252.xml");
        assert_eq!(settings.text("AccountType"), Some("email \u{2013} primary"));
    }

    #[test]
    fn utf16_declared_without_bom_is_unsupported() {
        assert!(matches!(
            parse_response(&fixture("pox-declared-utf16-without-bom.xml")),
            Err(ResponseError::UnsupportedEncoding(_))
        ));
    }

    #[test]
    fn settings_map_to_soap_names() {
        let settings = settings_of("pox-settings-utf8.xml");
        let expected = [
            ("UserDisplayName", DISPLAY_NAME),
            (
                "UserDN",
                "/o=ExampleOrg/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice",
            ),
            ("UserDeploymentId", "0b7d5f2e-1111-4c3a-9d2e-5a5a5a5a5a5a"),
            ("AutoDiscoverSMTPAddress", "alice@example.com"),
            ("InternalEwsUrl", EWS_URL),
            ("ExternalEwsUrl", EWS_URL),
            (
                "InternalMailboxServer",
                "3f0c6a8e-0000-4000-8000-00000000c0de@example.com",
            ),
            ("ExternalMailboxServer", "mail.example.com"),
            ("ServerVersion", "73C1834A"),
            (
                "InternalOABUrl",
                "https://mail.example.com/OAB/5e1d7c2a-2222-4b6f-8c1d-0a0a0a0a0a0a/",
            ),
            ("AccountType", "email"),
            ("MicrosoftOnline", "False"),
        ];
        for (name, value) in expected {
            assert_eq!(settings.text(name), Some(value), "{name}");
        }
        assert_eq!(settings.get("Action"), None);
        assert_eq!(settings.get("ExternalOABUrl"), None);
    }

    #[test]
    fn protocols_are_kept_as_records() {
        let settings = settings_of("pox-settings-utf8.xml");
        let protocols = records(&settings, "Protocols");
        assert_eq!(protocols.len(), 3);
        assert_eq!(field(&protocols[0], "Type"), Some("EXCH"));
        assert_eq!(field(&protocols[0], "AuthPackage"), Some("Anonymous"));
        assert_eq!(field(&protocols[1], "Type"), Some("EXPR"));
        assert_eq!(field(&protocols[1], "SSL"), Some("On"));
        assert_eq!(field(&protocols[2], "Type"), Some("WEB"));
        assert_eq!(
            field(&protocols[2], "External/OWAUrl"),
            Some("https://mail.example.com/owa/")
        );
    }

    #[test]
    fn protocol_type_attribute_and_prefixes() {
        let settings = settings_of("pox-settings-protocol-attributes.xml");
        assert_eq!(settings.text("UserDisplayName"), Some("Carol Example"));
        assert_eq!(
            settings.text("InternalEwsUrl"),
            Some("https://mail.example.com/EWS/Exchange.asmx")
        );
        assert_eq!(
            settings.text("InternalEcpUrl"),
            Some("https://mail.example.com/ecp/")
        );
        assert_eq!(
            settings.text("ExternalEwsUrl"),
            Some("https://external.example.com/EWS/Exchange.asmx"),
            "the first EXPR protocol wins"
        );
        assert_eq!(
            settings.text("ExternalEcpUrl"),
            Some("https://external.example.com/ecp/")
        );
        assert_eq!(
            settings.text("ExternalOABUrl"),
            Some("https://external.example.com/OAB/")
        );

        let protocols = records(&settings, "Protocols");
        assert_eq!(protocols.len(), 4);
        let mapi = &protocols[0];
        assert_eq!(field(mapi, "Type"), Some("mapiHttp"));
        assert_eq!(field(mapi, "Version"), Some("1"));
        assert_eq!(
            field(mapi, "MailStore/ExternalUrl"),
            Some("https://mail.example.com/mapi/emsmdb/?MailboxId=c0de@example.com")
        );
        assert_eq!(
            field(mapi, "AddressBook/ExternalUrl"),
            Some("https://mail.example.com/mapi/nspi/?MailboxId=c0de@example.com")
        );

        let mailboxes = records(&settings, "AlternativeMailbox");
        assert_eq!(mailboxes.len(), 2);
        assert_eq!(
            field(&mailboxes[1], "SmtpAddress"),
            Some("support@example.com")
        );
    }

    #[test]
    fn office365_settings_parse() {
        let settings = settings_of("pox-settings-office365.xml");
        assert_eq!(
            settings.text("ExternalEwsUrl"),
            Some("https://outlook.office365.com/EWS/Exchange.asmx")
        );
        assert_eq!(settings.text("MicrosoftOnline"), Some("True"));
    }

    #[test]
    fn redirect_addr_and_url() {
        assert_eq!(
            parse_response(&fixture("pox-redirect-addr.xml")),
            Ok(Answer::RedirectAddress(
                "alice@contoso.mail.onmicrosoft.com".into()
            ))
        );
        assert_eq!(
            parse_response(&fixture("pox-redirect-url.xml")),
            Ok(Answer::RedirectUrl(
                "https://autodiscover.example.net/autodiscover/autodiscover.xml".into()
            ))
        );
    }

    #[test]
    fn redirect_without_target_is_missing() {
        assert_eq!(
            parse_response(&fixture("pox-redirect-missing-target.xml")),
            Err(ResponseError::Missing("RedirectAddr"))
        );
    }

    #[test]
    fn error_500_in_any_language() {
        let english = error_of("pox-error-500.xml");
        let german = error_of("pox-error-500-de.xml");
        for error in [&english, &german] {
            assert_eq!(error.code, ErrorCode::InvalidUser);
            assert_eq!(error.level, ErrorLevel::User);
            assert_eq!(error.raw_code, "500");
            assert_eq!(error.debug_data, None);
        }
        assert_eq!(english.message, "The e-mail address cannot be found.");
        assert_eq!(german.message, "Die E-Mail-Adresse wurde nicht gefunden.");
    }

    #[test]
    fn error_600_is_invalid_request() {
        let error = error_of("pox-error-600.xml");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.level, ErrorLevel::Request);
        assert_eq!(error.raw_code, "600");
        assert_eq!(error.message, "Invalid Request");
    }

    #[test]
    fn error_in_outlook_namespace() {
        let error = error_of("pox-error-under-account.xml");
        assert_eq!(error.code, ErrorCode::InvalidUser);
        assert_eq!(error.raw_code, "501");
        assert_eq!(error.debug_data.as_deref(), Some("MailboxNotEnabled"));

        let error = error_of("pox-error-outlook-response.xml");
        assert_eq!(error.code, ErrorCode::InternalServerError);
        assert_eq!(error.level, ErrorLevel::Request);
    }

    #[test]
    fn non_numeric_error_code_is_other() {
        let error = error_of("pox-error-non-numeric.xml");
        assert_eq!(error.code, ErrorCode::Other);
        assert_eq!(error.level, ErrorLevel::Request);
        assert_eq!(error.raw_code, "ServerBusy");
    }

    #[test]
    fn wrong_namespace_is_not_matched() {
        assert_eq!(
            parse_response(&fixture("pox-wrong-namespace.xml")),
            Err(ResponseError::Missing("Response"))
        );
        assert_eq!(
            parse_response(&fixture("pox-wrong-root-namespace.xml")),
            Err(ResponseError::UnexpectedRoot {
                found: format!("{{{REQUEST_NS}}}Autodiscover"),
                expected: EXPECTED_ROOT,
            })
        );
    }

    #[test]
    fn html_pages_are_unexpected_roots() {
        assert_eq!(
            parse_response(&fixture("html-login-page.html")),
            Err(ResponseError::UnexpectedRoot {
                found: "{http://www.w3.org/1999/xhtml}html".into(),
                expected: EXPECTED_ROOT,
            })
        );
        for name in ["html-not-found.html", "html-object-moved.html"] {
            assert_eq!(
                parse_response(&fixture(name)),
                Err(ResponseError::UnexpectedRoot {
                    found: "html".into(),
                    expected: EXPECTED_ROOT,
                }),
                "{name}"
            );
        }
    }

    #[test]
    fn hostile_bodies_fail_cleanly() {
        for name in [
            "doctype-external-entity.xml",
            "billion-laughs.xml",
            "truncated.xml",
            "not-xml.json",
        ] {
            assert!(
                matches!(
                    parse_response(&fixture(name)),
                    Err(ResponseError::Malformed(_) | ResponseError::UnexpectedRoot { .. })
                ),
                "{name}"
            );
        }
        assert_eq!(
            parse_response(&fixture("deep-nesting.xml")),
            Err(ResponseError::TooDeep(xml::MAX_DEPTH))
        );
        assert_eq!(
            parse_response(&fixture("empty.xml")),
            Err(ResponseError::Empty)
        );
    }

    #[test]
    fn action_fallbacks() {
        let wrap = |account: &str| {
            format!(
                "<Autodiscover xmlns='{AUTODISCOVER_NS}'><Response xmlns='{OUTLOOK_NS}'>\
                 <Account>{account}</Account></Response></Autodiscover>"
            )
        };
        let protocol =
            "<Protocol><Type>EXPR</Type><EwsUrl>https://x.example/EWS</EwsUrl></Protocol>";

        for account in [
            protocol.to_owned(),
            format!("<Action>unknown</Action>{protocol}"),
        ] {
            let Ok(Answer::Settings(settings)) = parse_response(wrap(&account).as_bytes()) else {
                panic!("{account}: expected settings");
            };
            assert_eq!(
                settings.settings.text("ExternalEwsUrl"),
                Some("https://x.example/EWS")
            );
        }
        assert_eq!(
            parse_response(wrap("").as_bytes()),
            Err(ResponseError::Missing("Action"))
        );
        assert_eq!(
            parse_response(wrap("<Action>unknown</Action>").as_bytes()),
            Err(ResponseError::Missing("Protocol"))
        );
        assert_eq!(
            parse_response(
                format!("<Autodiscover xmlns='{AUTODISCOVER_NS}'><Response xmlns='{OUTLOOK_NS}'/></Autodiscover>")
                    .as_bytes()
            ),
            Err(ResponseError::Missing("Account"))
        );
    }
}
