//! A hostile, randomly answering world for the [`Discoverer`], shared by the stable property
//! test (`tests/properties.rs`) and the `redirects` fuzz target.
//!
//! The world answers every action from an `arbitrary` byte stream: transport failures, HTTP
//! redirects to arbitrary URLs, XML `RedirectUrl` and `RedirectAddress` answers, error codes,
//! busy servers, garbage bodies, DNS failures, SRV records, cache hits, answers that never
//! come, and time jumps. While it runs it checks the invariants the discoverer promises, and
//! panics with a description when one breaks:
//! - the run ends with an outcome within a bounded number of actions and steps;
//! - credentials are allowed only on https URLs whose host is trusted (the email domains of the
//!   run, a Microsoft 365 host, or a host the configuration lists);
//! - a URL is never requested twice for the same address, except for the bounded busy retries;
//! - no request goes to a single-label host or to `autodiscover.<TLD>`;
//! - after the outcome the discoverer is inert.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use arbitrary::{Result, Unstructured};
use autodiscover::config::{MAX_ACTIONS, MAX_BUSY_RETRIES, MICROSOFT_365_HOSTS};
use autodiscover::{
    Action, CacheEntry, Config, Discoverer, DnsError, Event, Flavor, HttpRequest, HttpResponse,
    Method, Request, SrvRecord, Strategy, TransportError, UntrustedRedirects,
};
use url::Url;

/// Addresses a run starts from or is redirected to.
const EMAILS: &[&str] = &[
    "alice@example.com",
    "bob@example.org",
    "carol@sub.example.com",
    "ALICE@example.com",
    "dave@contoso.mail.onmicrosoft.com",
];

/// Hosts that redirects, SRV records and cache entries point at, hostile ones included.
const HOSTS: &[&str] = &[
    "example.com",
    "autodiscover.example.com",
    "mail.example.com",
    "example.org",
    "autodiscover.example.org",
    "evil.example.net",
    "autodiscover-s.outlook.com",
    "outlook.office365.com",
    "com",
    "autodiscover.com",
    "127.0.0.1",
    "[::1]",
    "sub.example.com",
    "trusted.example.net",
];

/// Paths used in generated URLs.
const PATHS: &[&str] = &[
    "/autodiscover/autodiscover.svc",
    "/autodiscover/autodiscover.xml",
    "/Autodiscover/Autodiscover.xml",
    "/x",
    "",
];

/// Upper bound on drive-loop iterations; a run that needs more is a livelock.
const MAX_STEPS: usize = 10_000;

/// What a run ended with, for the property test's statistics.
#[derive(Debug, Default)]
pub struct Summary {
    /// Whether discovery succeeded.
    pub succeeded: bool,
    /// The error kind, when it failed.
    pub error_kind: Option<&'static str>,
    /// Number of actions emitted.
    pub actions: usize,
}

/// Runs one discovery in a world drawn from `u` and checks the invariants.
///
/// # Errors
/// Only when `u` cannot provide a value at all; a run that ran out of bytes answers with
/// failures, so nearly every input runs to an outcome.
pub fn run(u: &mut Unstructured) -> Result<Summary> {
    let email = *u.choose(EMAILS)?;
    let flavor = if u.arbitrary()? {
        Flavor::Soap
    } else {
        Flavor::Pox
    };
    let strategy = if u.arbitrary()? {
        Strategy::Sequential
    } else {
        Strategy::Parallel {
            stagger: Duration::from_millis(u.int_in_range(0..=2000)?),
            grace: Duration::from_millis(u.int_in_range(0..=3000)?),
        }
    };
    let mut config = Config::default()
        .strategy(strategy)
        .trust_host("trusted.example.net");
    config.untrusted_redirects = if u.arbitrary()? {
        UntrustedRedirects::Reject
    } else {
        UntrustedRedirects::FollowWithoutCredentials
    };
    config.use_cache = u.arbitrary()?;
    config.srv_seed = u.arbitrary()?;
    config.request_timeout = Duration::from_millis(u.int_in_range(1..=30_000)?);
    config.deadline = Duration::from_millis(u.int_in_range(1..=120_000)?);

    let request = Request::new(email)
        .expect("pool addresses are valid")
        .flavor(flavor);
    let start = Instant::now();
    let mut now = start;
    let mut discoverer = Discoverer::new(request, config.clone(), now);
    let mut checker = Checker::new(email, &config);

    // Answers waiting to be delivered, by delivery time; `None` time means never.
    let mut scheduled: Vec<(Instant, Event)> = Vec::new();
    let mut actions = 0usize;

    for _ in 0..MAX_STEPS {
        while let Some(action) = discoverer.poll_action() {
            actions += 1;
            assert!(
                actions <= MAX_ACTIONS + 1,
                "more than {MAX_ACTIONS} actions were emitted"
            );
            checker.check_action(&action, discoverer.current_email().as_str());
            if let Some((delay, event)) = answer(u, &action, flavor, &mut checker)? {
                scheduled.push((now + delay, event));
            }
        }

        if let Some(outcome) = discoverer.poll_outcome() {
            assert!(discoverer.is_finished());
            assert!(
                discoverer.poll_timeout().is_none(),
                "a finished discovery has a deadline"
            );
            // Inert afterwards: more events and timeouts produce nothing but queued cache writes.
            for (_, event) in scheduled.drain(..) {
                discoverer.handle_event(event, now);
            }
            discoverer.handle_timeout(now + Duration::from_secs(3600));
            while let Some(action) = discoverer.poll_action() {
                assert!(
                    matches!(action, Action::CachePut { .. }),
                    "a finished discovery emitted {action}"
                );
            }
            assert!(
                discoverer.poll_outcome().is_none(),
                "the outcome was returned twice"
            );
            return Ok(match outcome {
                Ok(_) => Summary {
                    succeeded: true,
                    error_kind: None,
                    actions,
                },
                Err(error) => Summary {
                    succeeded: false,
                    error_kind: Some(error.kind()),
                    actions,
                },
            });
        }

        // Deliver the earliest answer, unless the discoverer's own deadline comes first.
        let timeout = discoverer
            .poll_timeout()
            .expect("a running discovery always has a deadline");
        let earliest = scheduled
            .iter()
            .enumerate()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(index, (at, _))| (index, *at));
        match earliest {
            Some((index, at)) if at <= timeout => {
                let (at, event) = scheduled.swap_remove(index);
                now = now.max(at);
                discoverer.handle_event(event, now);
            }
            _ => {
                assert!(timeout >= now || timeout <= now, "timeouts are comparable");
                now = now.max(timeout);
                discoverer.handle_timeout(now);
            }
        }
    }
    panic!("no outcome after {MAX_STEPS} drive-loop steps: a livelock");
}

/// Tracks what the discoverer sent and checks each action against the invariants.
struct Checker {
    trusted_domains: Vec<String>,
    /// Addresses the world redirected to from a request that was allowed credentials: only
    /// their domains may become trusted.
    trusted_redirects: Vec<String>,
    listed_hosts: Vec<String>,
    posts: BTreeMap<(String, String), u32>,
}

impl Checker {
    fn new(email: &str, config: &Config) -> Self {
        Self {
            trusted_domains: vec![domain_of(email)],
            trusted_redirects: Vec::new(),
            listed_hosts: config.trusted_hosts.clone(),
            posts: BTreeMap::new(),
        }
    }

    fn check_action(&mut self, action: &Action, current_email: &str) {
        // An address redirect from a host trusted with credentials widens trust to the new
        // domain; one from any other host must not.
        let domain = domain_of(current_email);
        let vouched = self
            .trusted_redirects
            .iter()
            .any(|address| address.eq_ignore_ascii_case(current_email));
        if vouched && !self.trusted_domains.contains(&domain) {
            self.trusted_domains.push(domain);
        }

        let Action::HttpRequest { request, .. } = action else {
            return;
        };
        let host = request
            .url
            .host_str()
            .expect("requests always have a host")
            .to_ascii_lowercase();
        if request.credentials_allowed {
            assert_eq!(
                request.url.scheme(),
                "https",
                "credentials allowed on non-https {}",
                request.url
            );
            assert!(
                self.is_trusted(&host),
                "credentials allowed on untrusted host {host} ({})",
                request.url
            );
        }
        if request.method == Method::Get {
            assert!(
                !request.credentials_allowed,
                "credentials on the step 3 GET"
            );
            return;
        }
        assert_eq!(request.url.scheme(), "https", "POST over {}", request.url);
        let labels: Vec<&str> = host.split('.').collect();
        assert!(labels.len() >= 2, "request to single-label host {host}");
        assert!(
            !(labels.len() == 2 && labels[0] == "autodiscover"),
            "request to autodiscover.<TLD> host {host}"
        );
        assert!(
            host.parse::<IpAddr>().is_err(),
            "POST to an IP address {host}"
        );

        let key = (normalize(&request.url), current_email.to_ascii_lowercase());
        let count = self.posts.entry(key).or_insert(0);
        *count += 1;
        assert!(
            *count <= 1 + MAX_BUSY_RETRIES,
            "{} requested {count} times for {current_email}",
            request.url
        );
    }

    fn is_trusted(&self, host: &str) -> bool {
        let within = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
        self.trusted_domains.iter().any(|domain| within(domain))
            || MICROSOFT_365_HOSTS.contains(&host)
            || self.listed_hosts.iter().any(|listed| listed == host)
    }
}

fn domain_of(email: &str) -> String {
    email
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .unwrap_or_default()
}

fn normalize(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.as_str().to_owned()
}

/// Draws the answer to one action and the delay before it arrives; `None` means never.
fn answer(
    u: &mut Unstructured,
    action: &Action,
    flavor: Flavor,
    checker: &mut Checker,
) -> Result<Option<(Duration, Event)>> {
    if u.is_empty() {
        // Out of input: fail everything at once so the run still ends.
        return Ok(Some((Duration::ZERO, failure(action))));
    }
    let delay = match u.int_in_range(0..=9u8)? {
        0..=5 => Duration::ZERO,
        6..=7 => Duration::from_millis(u.int_in_range(1..=3000)?),
        8 => Duration::from_secs(u.int_in_range(1..=200)?),
        _ => return Ok(None),
    };
    let event = match action {
        Action::CacheGet { id, .. } => Event::CacheGet {
            id: *id,
            entry: if u.arbitrary()? {
                Some(CacheEntry {
                    endpoint: random_url(u, "https")?,
                    flavor: if u.arbitrary()? { flavor } else { Flavor::Soap },
                    auth_scheme: None,
                    stored_at: None,
                })
            } else {
                None
            },
        },
        Action::CachePut { id, .. } => Event::CachePut { id: *id },
        Action::DnsA { id, .. } => Event::DnsA {
            id: *id,
            result: match u.int_in_range(0..=4u8)? {
                0 => Err(DnsError::NoSuchName),
                1 => Err(DnsError::Timeout),
                2 => Ok(Vec::new()),
                _ => Ok(vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))]),
            },
        },
        Action::DnsSrv { id, .. } => Event::DnsSrv {
            id: *id,
            result: if u.arbitrary()? {
                Err(DnsError::NoSuchName)
            } else {
                let count = u.int_in_range(0..=12usize)?;
                let mut records = Vec::with_capacity(count);
                for _ in 0..count {
                    records.push(SrvRecord {
                        priority: u.int_in_range(0..=3)?,
                        weight: u.arbitrary()?,
                        port: *u.choose(&[443, 443, 80, 8443])?,
                        target: format!("{}.", u.choose(HOSTS)?),
                    });
                }
                Ok(records)
            },
        },
        Action::HttpRequest { id, request } => Event::HttpResponse {
            id: *id,
            result: http_answer(u, request, flavor, checker)?,
        },
    };
    Ok(Some((delay, event)))
}

fn failure(action: &Action) -> Event {
    match action {
        Action::CacheGet { id, .. } => Event::CacheGet {
            id: *id,
            entry: None,
        },
        Action::CachePut { id, .. } => Event::CachePut { id: *id },
        Action::DnsA { id, .. } => Event::DnsA {
            id: *id,
            result: Err(DnsError::NoSuchName),
        },
        Action::DnsSrv { id, .. } => Event::DnsSrv {
            id: *id,
            result: Err(DnsError::NoSuchName),
        },
        Action::HttpRequest { id, .. } => Event::HttpResponse {
            id: *id,
            result: Err(TransportError::ConnectionRefused),
        },
    }
}

fn random_url(u: &mut Unstructured, scheme: &str) -> Result<Url> {
    let host = u.choose(HOSTS)?;
    let path = u.choose(PATHS)?;
    let port = if u.ratio(1, 8)? { ":443" } else { "" };
    Ok(Url::parse(&format!("{scheme}://{host}{port}{path}")).expect("pool URLs parse"))
}

fn random_location(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => random_url(u, "http")?.to_string(),
        1 => u.choose(PATHS)?.to_string(),
        2 => String::arbitrary_take(u)?,
        _ => random_url(u, "https")?.to_string(),
    })
}

trait TakeString {
    fn arbitrary_take(u: &mut Unstructured) -> Result<String>;
}

impl TakeString for String {
    fn arbitrary_take(u: &mut Unstructured) -> Result<String> {
        let text: &str = u.arbitrary()?;
        Ok(text.chars().take(64).collect())
    }
}

fn http_answer(
    u: &mut Unstructured,
    request: &HttpRequest,
    flavor: Flavor,
    checker: &mut Checker,
) -> Result<std::result::Result<HttpResponse, TransportError>> {
    let response = |status: u16, headers: Vec<(String, String)>, body: Vec<u8>| {
        Ok(Ok(HttpResponse {
            status,
            headers,
            body,
            auth_scheme: None,
        }))
    };
    let xml = vec![(
        "Content-Type".to_owned(),
        "text/xml; charset=utf-8".to_owned(),
    )];
    match u.int_in_range(0..=13u8)? {
        0 => Ok(Err(TransportError::ConnectionRefused)),
        1 => Ok(Err(TransportError::Tls(
            "certificate names another host".to_owned(),
        ))),
        2 => Ok(Err(TransportError::BodyTooLarge {
            limit: request.max_response_bytes,
        })),
        3 => response(
            *u.choose(&[301, 302, 303, 307, 308])?,
            vec![("Location".to_owned(), random_location(u)?)],
            Vec::new(),
        ),
        4 => response(
            401,
            vec![(
                "WWW-Authenticate".to_owned(),
                "Basic realm=\"x\", Negotiate".to_owned(),
            )],
            Vec::new(),
        ),
        5 => response(
            503,
            vec![("Retry-After".to_owned(), "5".to_owned())],
            Vec::new(),
        ),
        6 => response(
            *u.choose(&[404, 500, 501, 200])?,
            Vec::new(),
            u.arbitrary::<Vec<u8>>()?,
        ),
        7 => response(200, xml, redirect_url_body(flavor, &random_location(u)?)),
        8 | 9 => {
            let address = *u.choose(EMAILS)?;
            if request.credentials_allowed {
                checker.trusted_redirects.push(address.to_owned());
            }
            response(200, xml, redirect_address_body(flavor, address))
        }
        10 => response(200, xml, error_body(flavor, u)?),
        11 => response(
            200,
            vec![("Content-Type".to_owned(), "text/html".to_owned())],
            b"<html><body>Sign in</body></html>".to_vec(),
        ),
        _ => response(200, xml, settings_body(flavor)),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const SOAP_OPEN: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Body><GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses><UserResponse>"#;
const SOAP_CLOSE: &str =
    "</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>";
const POX_OPEN: &str = r#"<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">"#;
const POX_CLOSE: &str = "</Response></Autodiscover>";

fn soap_user(inner: &str) -> Vec<u8> {
    format!("{SOAP_OPEN}{inner}{SOAP_CLOSE}").into_bytes()
}

fn pox_response(inner: &str) -> Vec<u8> {
    format!("{POX_OPEN}{inner}{POX_CLOSE}").into_bytes()
}

fn settings_body(flavor: Flavor) -> Vec<u8> {
    match flavor {
        Flavor::Soap => soap_user(
            r#"<ErrorCode>NoError</ErrorCode><ErrorMessage/><UserSettings><UserSetting i:type="StringSetting"><Name>ExternalEwsUrl</Name><Value>https://mail.example.com/EWS/Exchange.asmx</Value></UserSetting></UserSettings>"#,
        ),
        Flavor::Pox => pox_response(
            "<Account><AccountType>email</AccountType><Action>settings</Action><Protocol><Type>EXPR</Type><EwsUrl>https://mail.example.com/EWS/Exchange.asmx</EwsUrl></Protocol></Account>",
        ),
    }
}

fn redirect_url_body(flavor: Flavor, target: &str) -> Vec<u8> {
    let target = escape(target);
    match flavor {
        Flavor::Soap => soap_user(&format!(
            "<ErrorCode>RedirectUrl</ErrorCode><ErrorMessage>x</ErrorMessage><RedirectTarget>{target}</RedirectTarget>"
        )),
        Flavor::Pox => pox_response(&format!(
            "<Account><Action>redirectUrl</Action><RedirectUrl>{target}</RedirectUrl></Account>"
        )),
    }
}

fn redirect_address_body(flavor: Flavor, address: &str) -> Vec<u8> {
    let address = escape(address);
    match flavor {
        Flavor::Soap => soap_user(&format!(
            "<ErrorCode>RedirectAddress</ErrorCode><ErrorMessage>x</ErrorMessage><RedirectTarget>{address}</RedirectTarget>"
        )),
        Flavor::Pox => pox_response(&format!(
            "<Account><Action>redirectAddr</Action><RedirectAddr>{address}</RedirectAddr></Account>"
        )),
    }
}

fn error_body(flavor: Flavor, u: &mut Unstructured) -> Result<Vec<u8>> {
    Ok(match flavor {
        Flavor::Soap => {
            let code = u.choose(&[
                "InvalidUser",
                "InvalidRequest",
                "ServerBusy",
                "InternalServerError",
                "NotFederated",
                "Bogus",
            ])?;
            soap_user(&format!(
                "<ErrorCode>{code}</ErrorCode><ErrorMessage>message</ErrorMessage>"
            ))
        }
        Flavor::Pox => {
            let code = u.choose(&[500u16, 501, 502, 600, 601, 602, 603, 999])?;
            format!(
                r#"<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error Time="1" Id="2"><ErrorCode>{code}</ErrorCode><Message>m</Message><DebugData/></Error></Response></Autodiscover>"#
            )
            .into_bytes()
        }
    })
}
