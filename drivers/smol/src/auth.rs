//! The `Authorization` header for the caller's credentials, and reading a Basic challenge.

use base64::Engine as _;
use tracing::debug;

use crate::options::Credentials;

/// The header lines that carry one set of credentials.
pub(crate) struct AuthHeaders {
    /// The scheme name reported in `HttpResponse::auth_scheme`.
    pub(crate) scheme: &'static str,
    /// `(name, value)` pairs; the values contain secrets and must never be logged.
    pub(crate) headers: Vec<(&'static str, String)>,
}

/// Builds the Basic header (RFC 7617), with the user name and password as UTF-8.
pub(crate) fn basic(credentials: &Credentials) -> Option<AuthHeaders> {
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
/// `X-AnchorMailbox` is sent only when `mailbox` is ASCII. The driver sends only ASCII header
/// values, so an address with a non-ASCII local part goes without the header rather than
/// failing every request.
pub(crate) fn bearer(credentials: &Credentials, mailbox: &str) -> Option<AuthHeaders> {
    let Credentials::Bearer { token } = credentials else {
        return None;
    };
    let mut headers = vec![("Authorization", format!("Bearer {}", token.expose()))];
    if mailbox.is_ascii() {
        headers.push(("X-AnchorMailbox", mailbox.to_owned()));
    } else {
        debug!(%mailbox, "omitting X-AnchorMailbox because the address is not ASCII");
    }
    Some(AuthHeaders {
        scheme: "Bearer",
        headers,
    })
}

/// Returns whether any `WWW-Authenticate` value offers the Basic scheme.
///
/// A value may hold several challenges separated by commas, and parameters are separated by
/// commas too (RFC 9110 section 11.6.1). So a challenge starts at a part whose first word is a
/// token without `=`, and commas inside quoted strings separate nothing.
pub(crate) fn offers_basic<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    values.into_iter().any(|value| {
        split_outside_quotes(value).into_iter().any(|part| {
            let first_word = part.trim().split([' ', '\t']).next().unwrap_or("");
            first_word.eq_ignore_ascii_case("Basic")
        })
    })
}

fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Credentials;

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
        let headers = bearer(&Credentials::bearer("token-1"), "j\u{f6}rg@example.com").unwrap();
        assert_eq!(
            headers.headers,
            vec![("Authorization", "Bearer token-1".to_owned())]
        );
    }

    #[test]
    fn basic_offer_detection() {
        assert!(offers_basic(["Basic realm=\"mail\""]));
        assert!(offers_basic(["Negotiate, NTLM", "basic realm=\"x\""]));
        assert!(offers_basic([
            "Bearer realm=\"a, Basic\", Basic realm=\"b\""
        ]));
        assert!(!offers_basic(["Bearer realm=\"a, Basic b\""]));
        assert!(!offers_basic(["Negotiate, NTLM"]));
        assert!(!offers_basic([]));
    }
}
