//! Helpers shared by the smol driver's test files.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use autodiscover_scenarios::world::{soap_settings, xml_response, SOAP_PATH};
use autodiscover_scenarios::ScenarioRun;
use autodiscover_smol::{CacheChoice, Options, Roots};
use autodiscover_testworld::{Handler, RecordedRequest, Reply, Response};

/// The session cookie value that [`basic_protected`] sets, which logs must not show.
pub const SESSION_COOKIE: &str = "cookie-secret-3c8d";

/// Returns options that reach the run's world: its nameserver, CA file and overrides, with no
/// credentials and no cache.
pub fn options(run: &ScenarioRun) -> Options {
    let mut options = Options::new()
        .config(run.config.clone())
        .nameserver(run.nameserver)
        .roots(Roots::None)
        .ca_file(&run.ca_file)
        .cache(CacheChoice::None);
    for (host, port, addr) in &run.connect_overrides {
        options = options.connect_to(host.clone(), *port, *addr);
    }
    options
}

/// Returns a handler that responds with settings and a session cookie when the request carries
/// `Authorization`, else with a Basic challenge.
pub fn basic_protected() -> Handler {
    Handler::new(|request: &RecordedRequest| {
        if request.path() != SOAP_PATH {
            Reply::status(404)
        } else if request.has_header("Authorization") {
            xml_response(soap_settings())
                .header(
                    "Set-Cookie",
                    &format!("X-BackEndCookie={SESSION_COOKIE}; path=/"),
                )
                .into()
        } else {
            Response::new(401)
                .header("WWW-Authenticate", "Basic realm=\"example.com\"")
                .into()
        }
    })
}

/// A log sink the test can read back.
#[derive(Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SharedBuffer {
    type Writer = SharedBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
