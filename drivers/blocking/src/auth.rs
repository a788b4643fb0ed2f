//! Attaching the caller's credentials to a request the core allows them on.

use autodiscover::{HttpRequest, HttpResponse, TransportError};
use autodiscover_driver::auth::{self, AuthHeaders};
use autodiscover_driver::Credentials;

use crate::http::{RequestScope, Transport};

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
    ///   when the address is ASCII.
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
        let first = auth::first_attempt(request, &self.credentials, self.basic_up_front, email);
        let response = exchange(transport, request, first.as_ref(), scope)?;

        match auth::basic_retry(request, &self.credentials, first.as_ref(), &response) {
            Some(basic) => exchange(transport, request, Some(&basic), scope),
            None => Ok(response),
        }
    }
}

/// Sends `request` with the headers of `auth`, and names its scheme in the response.
fn exchange(
    transport: &Transport,
    request: &HttpRequest,
    auth: Option<&AuthHeaders>,
    scope: &RequestScope<'_>,
) -> Result<HttpResponse, TransportError> {
    let Some(auth) = auth else {
        return transport.exchange(request, &[], scope);
    };
    let response = transport.exchange(request, &auth.headers, scope)?;
    Ok(HttpResponse {
        auth_scheme: Some(auth.scheme.to_owned()),
        ..response
    })
}
