//! Replies, bodies, route tables and handlers of the HTTP servers.

use std::fmt;
use std::sync::Arc;

use crate::request::RecordedRequest;

/// The server's action for one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Send this HTTP response.
    Respond(Response),
    /// Send nothing and keep the connection open until the server stops.
    BlackHole,
    /// Close the connection at once without sending a response. On TLS
    /// connections no close_notify alert is sent either.
    Close,
}

impl Reply {
    /// Returns a response with `status`, no extra headers and an empty body.
    pub fn status(status: u16) -> Self {
        Reply::Respond(Response::new(status))
    }

    /// Returns a 200 response whose chunked body never ends.
    pub fn endless() -> Self {
        Reply::Respond(Response::new(200).body(Body::Endless { prefix: Vec::new() }))
    }

    /// Returns a 200 response with a body of `len` bytes of filler, sent with
    /// a Content-Length header.
    pub fn large(len: u64) -> Self {
        let body = Body::Large {
            prefix: Vec::new(),
            len,
        };
        Reply::Respond(Response::new(200).body(body))
    }
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Reply::Respond(response)
    }
}

/// An HTTP/1.1 response.
///
/// The server adds `Content-Length`, or `Transfer-Encoding: chunked` for
/// [`Body::Endless`], unless `headers` already contains either. So a test can
/// send wrong framing on purpose by setting those headers itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code, sent with its standard reason phrase when it has one.
    pub status: u16,
    /// Header fields in the order they are sent.
    pub headers: Vec<(String, String)>,
    /// Message body.
    pub body: Body,
}

impl Response {
    /// Creates a response with `status`, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    /// Creates a redirect with `status` (for example 301 or 302) and a
    /// `Location` header.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::new(status).header("Location", location)
    }

    /// Appends a header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }
}

/// An HTTP message body.
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// These bytes, sent at once.
    Bytes(Vec<u8>),
    /// `prefix` followed by spaces up to `len` bytes in all, generated while
    /// sending so that even a body of many megabytes takes no memory.
    Large {
        /// Bytes sent first, for example the start of an XML document.
        prefix: Vec<u8>,
        /// Total body length in bytes, prefix included. A `len` shorter than
        /// the prefix cuts the prefix.
        len: u64,
    },
    /// `prefix` followed by spaces forever, in chunked transfer coding. The
    /// server stops sending when the client closes the connection or the
    /// server stops.
    Endless {
        /// Bytes sent first, for example the start of an XML document.
        prefix: Vec<u8>,
    },
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Body::Large { prefix, len } => {
                write!(f, "Large {{ prefix: {} bytes, len: {len} }}", prefix.len())
            }
            Body::Endless { prefix } => write!(f, "Endless {{ prefix: {} bytes }}", prefix.len()),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::Bytes(bytes)
    }
}

impl From<&[u8]> for Body {
    fn from(bytes: &[u8]) -> Self {
        Body::Bytes(bytes.to_vec())
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::Bytes(text.into_bytes())
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Body::Bytes(text.as_bytes().to_vec())
    }
}

/// A table of fixed replies keyed by method and path.
///
/// A request whose path (the request target without its query string)
/// matches no route gets 404. A request whose path matches but whose method
/// does not gets 405 with an `Allow` header.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    routes: Vec<(String, String, Reply)>,
}

impl Routes {
    /// Creates an empty table, which returns 404 for every request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route, replacing any earlier route for the same method and
    /// path.
    pub fn route(mut self, method: &str, path: &str, reply: impl Into<Reply>) -> Self {
        self.routes
            .retain(|(m, p, _)| !(m.as_str() == method && p.as_str() == path));
        self.routes
            .push((method.to_owned(), path.to_owned(), reply.into()));
        self
    }

    /// Returns the reply for `request`.
    pub fn reply_for(&self, request: &RecordedRequest) -> Reply {
        let path = request.path();
        let mut allowed = Vec::new();
        for (method, route_path, reply) in &self.routes {
            if route_path.as_str() != path {
                continue;
            }
            if method.as_str() == request.method {
                return reply.clone();
            }
            allowed.push(method.as_str());
        }

        if allowed.is_empty() {
            Reply::status(404)
        } else {
            Response::new(405)
                .header("Allow", &allowed.join(", "))
                .into()
        }
    }
}

/// The function an [`HttpServer`](crate::HttpServer) calls for each request.
///
/// It runs on the connection's thread, after the request has been recorded.
/// Convert from [`Routes`], from one [`Reply`] or [`Response`] that every
/// request gets, or from a closure. [`Handler::new`] infers a closure's
/// argument type, where a bare closure passed as `impl Into<Handler>` needs
/// `|request: &RecordedRequest|`.
#[derive(Clone)]
pub struct Handler(Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>);

impl Handler {
    /// Wraps a closure.
    pub fn new(function: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static) -> Self {
        Handler(Arc::new(function))
    }

    /// Calls the handler.
    pub fn call(&self, request: &RecordedRequest) -> Reply {
        (self.0)(request)
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handler(..)")
    }
}

impl<F> From<F> for Handler
where
    F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
{
    fn from(function: F) -> Self {
        Handler::new(function)
    }
}

impl From<Routes> for Handler {
    fn from(routes: Routes) -> Self {
        Handler::new(move |request| routes.reply_for(request))
    }
}

impl From<Reply> for Handler {
    fn from(reply: Reply) -> Self {
        Handler::new(move |_| reply.clone())
    }
}

impl From<Response> for Handler {
    fn from(response: Response) -> Self {
        Handler::from(Reply::from(response))
    }
}
