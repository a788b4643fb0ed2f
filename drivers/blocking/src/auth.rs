//! Attaching the caller's credentials to a request the core allows them on.

use autodiscover::{HttpRequest, HttpResponse, TransportError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tracing::debug;

use crate::http::{RequestScope, Transport};
use crate::options::Credentials;

/// The credentials of one client and the policy for sending them.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub(crate) credentials: Credentials,
    pub(crate) basic_up_front: bool,
}

impl Auth {
    /// Sends `request`, with credentials only when the core allows them:
    ///
    /// - Bearer: `Authorization: Bearer` on the first request, with `X-AnchorMailbox: <email>`
    ///   when the address is ASCII (see [`anchor_mailbox`]).
    /// - Basic up front: `Authorization: Basic` on the first request.
    /// - Basic otherwise: the first request goes out without credentials, and is sent once
    ///   more with them when the server responds with 401 and offers Basic.
    ///
    /// The response's `auth_scheme` names the scheme attached to the request that produced it.
    pub(crate) fn send(
        &self,
        transport: &Transport,
        request: &HttpRequest,
        email: &str,
        scope: &RequestScope<'_>,
    ) -> Result<HttpResponse, TransportError> {
        if !request.credentials_allowed {
            return transport.exchange(request, &[], scope);
        }
        match &self.credentials {
            Credentials::None => transport.exchange(request, &[], scope),
            Credentials::Bearer { token } => {
                let mut headers = vec![("Authorization", format!("Bearer {}", token.expose()))];
                headers.extend(anchor_mailbox(email).map(|email| ("X-AnchorMailbox", email)));
                let response = transport.exchange(request, &headers, scope)?;
                Ok(with_scheme(response, "Bearer"))
            }
            Credentials::Basic { username, password } => {
                let headers = [(
                    "Authorization",
                    format!(
                        "Basic {}",
                        STANDARD.encode(format!("{username}:{}", password.expose()))
                    ),
                )];
                if !self.basic_up_front {
                    let response = transport.exchange(request, &[], scope)?;
                    if response.status != 401 || !offers_basic(&response) {
                        return Ok(response);
                    }
                    debug!(url = %request.url, "server offers Basic; sending the request again with credentials");
                }
                let response = transport.exchange(request, &headers, scope)?;
                Ok(with_scheme(response, "Basic"))
            }
        }
    }
}

/// Returns the `X-AnchorMailbox` value for `email`, or `None` when the address is not ASCII.
///
/// RFC 9110 section 5.5 recommends visible US-ASCII for new fields, and recipients treat other
/// bytes as opaque data. The header only helps Exchange Online route the request, so a
/// non-ASCII address goes without it instead of as raw UTF-8.
fn anchor_mailbox(email: &str) -> Option<String> {
    if email.is_ascii() {
        return Some(email.to_owned());
    }
    debug!("omitting X-AnchorMailbox because the address is not ASCII");
    None
}

fn with_scheme(response: HttpResponse, scheme: &str) -> HttpResponse {
    HttpResponse {
        auth_scheme: Some(scheme.to_owned()),
        ..response
    }
}

/// Returns whether a `WWW-Authenticate` header of `response` offers the Basic scheme
/// (RFC 9110 section 11.6.1). A header may list several challenges separated by commas; a
/// challenge starts with its scheme name, while a parameter contains `=` or sits in quotes.
fn offers_basic(response: &HttpResponse) -> bool {
    response
        .headers_named("WWW-Authenticate")
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.split_whitespace().next())
        .any(|first_word| first_word.eq_ignore_ascii_case("Basic"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn anchor_mailbox_only_for_ascii() {
        assert_eq!(
            anchor_mailbox("alice@example.com").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(anchor_mailbox("jürgen@example.com"), None);
        assert_eq!(anchor_mailbox("alice@exämple.com"), None);
    }

    #[test]
    fn basic_offer_found_in_any_header() {
        assert!(offers_basic(&challenge(&[
            "Negotiate",
            "basic realm=\"mail\""
        ])));
        assert!(offers_basic(&challenge(&[
            "Negotiate, NTLM, Basic realm=\"mail\""
        ])));
    }

    #[test]
    fn basic_offer_absent() {
        assert!(!offers_basic(&challenge(&[])));
        assert!(!offers_basic(&challenge(&[
            "Bearer realm=\"Basic\"",
            "NTLM"
        ])));
        assert!(!offers_basic(&challenge(&[
            "Negotiate oRswGaADCgEAoxIEEAEAAABDh+CIwTbjqQAAAAA="
        ])));
    }
}
