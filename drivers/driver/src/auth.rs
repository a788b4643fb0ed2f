//! The headers that carry the caller's credentials, and when a request carries them.

use autodiscover::{HttpRequest, HttpResponse};
use base64::Engine as _;
use tracing::debug;

use crate::options::Credentials;

/// The header lines that carry one set of credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthHeaders {
    /// The scheme name reported in `HttpResponse::auth_scheme`.
    pub scheme: &'static str,
    /// `(name, value)` pairs. The values contain secrets and must never be logged.
    pub headers: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for AuthHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("AuthHeaders")
            .field("scheme", &self.scheme)
            .field("headers", &names)
            .finish()
    }
}

/// Returns the headers for the first attempt at `request`: none when the core does not allow
/// credentials on it, a bearer token always, and Basic only when `basic_up_front` is set.
pub fn first_attempt(
    request: &HttpRequest,
    credentials: &Credentials,
    basic_up_front: bool,
    mailbox: &str,
) -> Option<AuthHeaders> {
    if !request.credentials_allowed {
        return None;
    }
    match credentials {
        Credentials::Bearer { .. } => bearer(credentials, mailbox),
        Credentials::Basic { .. } if basic_up_front => basic(credentials),
        _ => None,
    }
}

/// Returns the Basic headers for a second attempt at `request`, when the first went out
/// without credentials and `response` is a 401 whose `WWW-Authenticate` offers Basic.
pub fn basic_retry(
    request: &HttpRequest,
    credentials: &Credentials,
    first: Option<&AuthHeaders>,
    response: &HttpResponse,
) -> Option<AuthHeaders> {
    let retry = request.credentials_allowed
        && first.is_none()
        && response.status == 401
        && matches!(credentials, Credentials::Basic { .. })
        && offers_basic(response);
    if !retry {
        return None;
    }
    debug!(url = %request.url, "401 offers Basic; sending the request again with credentials");
    basic(credentials)
}

/// Builds the Basic header (RFC 7617), with the user name and password as UTF-8.
pub fn basic(credentials: &Credentials) -> Option<AuthHeaders> {
    let Credentials::Basic { username, password } = credentials else {
        return None;
    };
    let pair = format!("{username}:{}", password.expose());
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
    Some(AuthHeaders {
        scheme: "Basic",
        headers: vec![("Authorization", format!("Basic {encoded}"))],
    })
}

/// Builds the bearer header (RFC 6750) and `X-AnchorMailbox`, which Exchange Online reads to
/// route a token-authenticated request to the mailbox's server.
///
/// `X-AnchorMailbox` is sent only when `mailbox` is ASCII. RFC 9110 section 5.5 recommends
/// visible US-ASCII for new fields, and the drivers send only ASCII header values, so an
/// address with a non-ASCII local part goes without the header rather than failing every
/// request.
pub fn bearer(credentials: &Credentials, mailbox: &str) -> Option<AuthHeaders> {
    let Credentials::Bearer { token } = credentials else {
        return None;
    };
    let mut headers = vec![("Authorization", format!("Bearer {}", token.expose()))];
    if mailbox.is_ascii() {
        headers.push(("X-AnchorMailbox", mailbox.to_owned()));
    } else {
        debug!("omitting X-AnchorMailbox because the address is not ASCII");
    }
    Some(AuthHeaders {
        scheme: "Bearer",
        headers,
    })
}

/// Returns whether a `WWW-Authenticate` header of `response` offers the Basic scheme, as
/// [`autodiscover::challenge::offered_schemes`] reads the challenges.
pub fn offers_basic(response: &HttpResponse) -> bool {
    autodiscover::challenge::offered_schemes(response.headers_named("WWW-Authenticate"))
        .iter()
        .any(|scheme| scheme.eq_ignore_ascii_case("Basic"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use autodiscover::Method;

    fn get(credentials_allowed: bool) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: "https://autodiscover.example.com/autodiscover/autodiscover.xml"
                .parse()
                .unwrap(),
            headers: Vec::new(),
            body: Vec::new(),
            max_response_bytes: 1024,
            credentials_allowed,
        }
    }

    fn challenge(values: &[&str]) -> HttpResponse {
        HttpResponse {
            status: 401,
            headers: values
                .iter()
                .map(|value| ("WWW-Authenticate".to_owned(), (*value).to_owned()))
                .collect(),
            body: Vec::new(),
            auth_scheme: None,
        }
    }

    #[test]
    fn basic_header_encodes_user_and_password() {
        let headers = basic(&Credentials::basic("alice@example.com", "p\u{e4}ss")).unwrap();
        assert_eq!(headers.scheme, "Basic");
        // base64 of the UTF-8 bytes of "alice@example.com:päss".
        assert_eq!(
            headers.headers[0].1,
            "Basic YWxpY2VAZXhhbXBsZS5jb206cMOkc3M="
        );
    }

    #[test]
    fn bearer_adds_anchor_mailbox() {
        let headers = bearer(&Credentials::bearer("token-1"), "alice@example.com").unwrap();
        assert_eq!(
            headers.headers,
            vec![
                ("Authorization", "Bearer token-1".to_owned()),
                ("X-AnchorMailbox", "alice@example.com".to_owned()),
            ]
        );
    }

    #[test]
    fn bearer_omits_anchor_for_non_ascii_address() {
        for mailbox in ["j\u{f6}rg@example.com", "alice@ex\u{e4}mple.com"] {
            let headers = bearer(&Credentials::bearer("token-1"), mailbox).unwrap();
            assert_eq!(
                headers.headers,
                vec![("Authorization", "Bearer token-1".to_owned())],
                "{mailbox}"
            );
        }
    }

    #[test]
    fn auth_headers_debug_hides_values() {
        let headers = bearer(&Credentials::bearer("token-91"), "alice@example.com").unwrap();
        let printed = format!("{headers:?}");
        assert!(!printed.contains("token-91"), "{printed}");
        assert!(printed.contains("Authorization"), "{printed}");
    }

    #[test]
    fn first_attempt_by_credentials() {
        let bearer = Credentials::bearer("token-1");
        let basic = Credentials::basic("alice", "pw");
        let mailbox = "alice@example.com";

        let sent = first_attempt(&get(true), &bearer, false, mailbox).unwrap();
        assert_eq!(sent.scheme, "Bearer");
        let sent = first_attempt(&get(true), &basic, true, mailbox).unwrap();
        assert_eq!(sent.scheme, "Basic");
        assert!(first_attempt(&get(true), &basic, false, mailbox).is_none());
        assert!(first_attempt(&get(true), &Credentials::None, true, mailbox).is_none());
        assert!(first_attempt(&get(false), &bearer, true, mailbox).is_none());
        assert!(first_attempt(&get(false), &basic, true, mailbox).is_none());
    }

    #[test]
    fn basic_retry_only_after_basic_challenge() {
        let basic = Credentials::basic("alice", "pw");
        let offered = challenge(&["Negotiate", "Basic realm=\"mail\""]);

        let sent = basic_retry(&get(true), &basic, None, &offered).unwrap();
        assert_eq!(sent.scheme, "Basic");
        assert!(basic_retry(&get(false), &basic, None, &offered).is_none());
        let up_front = super::basic(&basic).unwrap();
        assert!(basic_retry(&get(true), &basic, Some(&up_front), &offered).is_none());
        let bearer = Credentials::bearer("token-1");
        assert!(basic_retry(&get(true), &bearer, None, &offered).is_none());
        assert!(basic_retry(&get(true), &basic, None, &challenge(&["NTLM"])).is_none());

        let forbidden = HttpResponse {
            status: 403,
            ..offered
        };
        assert!(basic_retry(&get(true), &basic, None, &forbidden).is_none());
    }

    #[test]
    fn basic_offer_found_in_any_header() {
        assert!(offers_basic(&challenge(&["Basic realm=\"mail\""])));
        assert!(offers_basic(&challenge(&[
            "Negotiate, NTLM",
            "basic realm=\"x\""
        ])));
        assert!(offers_basic(&challenge(&[
            "Negotiate, NTLM, Basic realm=\"mail\""
        ])));
        assert!(offers_basic(&challenge(&[
            "Bearer realm=\"a, Basic\", Basic realm=\"b\""
        ])));
    }

    #[test]
    fn basic_offer_absent() {
        assert!(!offers_basic(&challenge(&[])));
        assert!(!offers_basic(&challenge(&["Negotiate, NTLM"])));
        assert!(!offers_basic(&challenge(&["Bearer realm=\"a, Basic b\""])));
        assert!(!offers_basic(&challenge(&[
            "Bearer realm=\"Basic\"",
            "NTLM"
        ])));
        assert!(!offers_basic(&challenge(&[
            "Negotiate oRswGaADCgEAoxIEEAEAAABDh+CIwTbjqQAAAAA="
        ])));
    }
}
