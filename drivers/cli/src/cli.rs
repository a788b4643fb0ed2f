//! The command line: every option, its help text and the parsers of its values.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use autodiscover::config::{DEFAULT_DEADLINE, DEFAULT_REQUEST_TIMEOUT};
use autodiscover::{Config, Flavor, Strategy};
use autodiscover_smol::ConnectOverride;
use clap::{ArgAction, Parser, ValueEnum};

/// The environment variable that carries the password for Basic authentication.
pub const PASSWORD_VARIABLE: &str = "AUTODISCOVER_PASSWORD";

/// The environment variable that carries an OAuth 2.0 bearer token.
pub const TOKEN_VARIABLE: &str = "AUTODISCOVER_TOKEN";

/// The text after the option list of `--help`: credentials and exit codes.
const AFTER_HELP: &str = "\
Credentials:
  The password is read from AUTODISCOVER_PASSWORD, or asked for without echo when standard
  input is a terminal (press Enter to send none). A bearer token is read from
  AUTODISCOVER_TOKEN. Neither is ever taken from the command line, logged or recorded.

Exit codes:
  0  settings found
  1  not found: no Autodiscover endpoint returned settings, or the server failed
  2  usage error: invalid option, email address or setting name
  3  credentials rejected, or the endpoint is on a host not trusted with credentials
  4  the server reports that the user or the request is invalid
  5  address redirect loop, or too many redirects
  6  timed out: the deadline passed, or every candidate timed out
  7  local error: CA file, cache, transcript or system DNS configuration unusable, or
     standard output not writable (a closed pipe keeps the code of the outcome)";

/// Finds the EWS URL and settings of an Exchange mailbox with Autodiscover.
///
/// Tries the candidates of the Autodiscover protocol in order (the email domain, the
/// autodiscover host, the HTTP redirect and the SRV record), follows redirects, and prints
/// the settings that the endpoint returned. On failure it lists every candidate tried and
/// why it failed.
#[derive(Debug, Parser)]
#[command(name = "autodiscover", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Mailbox address to discover, such as alice@example.com
    #[arg(value_name = "EMAIL", required_unless_present_any = ["replay", "clear_cache"])]
    pub email: Option<String>,

    /// Print one JSON document on standard output, on success and on failure
    #[arg(long)]
    pub json: bool,

    /// SOAP settings to request, comma-separated [default: a set covering EWS and the mailbox]
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub settings: Vec<String>,

    /// Protocol flavour: SOAP GetUserSettings, or POX (the Outlook autodiscover.xml)
    #[arg(long, value_enum, default_value_t = FlavorArg::Soap)]
    pub flavor: FlavorArg,

    /// User name for Basic authentication, such as alice@example.com or DOMAIN\alice
    /// [default: the email address]
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// Send the Basic credentials with the first request to a trusted host, without waiting
    /// for a 401 that offers Basic
    #[arg(long)]
    pub basic_upfront: bool,

    /// DNS server to ask over UDP and TCP instead of the system's, such as 192.0.2.53:53,
    /// [2001:db8::53]:53 or [2001:db8::53] (port 53 when omitted)
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_nameserver)]
    pub nameserver: Option<SocketAddr>,

    /// PEM file of CA certificates to trust besides Mozilla's root program
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Connect to ADDR:PORT whenever a URL names HOST:PORT; the Host header and the TLS
    /// certificate check still use HOST. Repeatable. Write IPv6 addresses in brackets:
    /// mail.example.com:443:[2001:db8::1]:8443
    #[arg(long, value_name = "HOST:PORT:ADDR:PORT", value_parser = parse_connect_to)]
    pub connect_to: Vec<ConnectOverride>,

    /// Timeout of each HTTP request and DNS lookup, in seconds (fractions allowed)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds,
          default_value_t = DEFAULT_REQUEST_TIMEOUT.as_secs_f64())]
    pub timeout: f64,

    /// Deadline of the whole discovery, in seconds (fractions allowed)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds,
          default_value_t = DEFAULT_DEADLINE.as_secs_f64())]
    pub deadline: f64,

    /// Probe candidates one at a time, or start the next one after 500 ms without a response
    #[arg(long, value_enum, default_value_t = StrategyArg::Parallel)]
    pub strategy: StrategyArg,

    /// Host to trust with credentials besides the email domain, its subdomains and
    /// Microsoft 365's hosts; a leading dot (.example.net) or `*.` trusts its subdomains too.
    /// The host needs at least two labels. Repeatable
    #[arg(long = "trust", value_name = "HOST", value_parser = parse_trust)]
    pub trust: Vec<String>,

    /// Neither read nor write the endpoint cache
    #[arg(long, conflicts_with_all = ["cache_file", "clear_cache"])]
    pub no_cache: bool,

    /// Endpoint cache file [default: $XDG_CACHE_HOME/autodiscover-rs/endpoints.json, else
    /// ~/.cache/autodiscover-rs/endpoints.json]
    #[arg(long, value_name = "PATH")]
    pub cache_file: Option<PathBuf>,

    /// Remove every entry of the endpoint cache; without EMAIL, exit after that
    #[arg(long)]
    pub clear_cache: bool,

    /// Show each step on standard error as it happens; -vv adds the HTTP wire detail, with
    /// credentials redacted
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Write the transcript of the discovery to FILE (credentials are never written)
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Run offline from a transcript FILE, with no network access, and print the same
    /// report; the transcript's header sets the address and every discovery option
    #[arg(long, value_name = "FILE", conflicts_with_all = REPLAY_CONFLICTS)]
    pub replay: Option<PathBuf>,
}

/// Options that a replay cannot honour, because the transcript fixes them or no network is
/// used.
const REPLAY_CONFLICTS: [&str; 15] = [
    "settings",
    "flavor",
    "username",
    "basic_upfront",
    "nameserver",
    "ca_file",
    "connect_to",
    "timeout",
    "deadline",
    "strategy",
    "trust",
    "no_cache",
    "cache_file",
    "clear_cache",
    "record",
];

impl Cli {
    /// Returns the per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }

    /// Returns the deadline of the whole discovery.
    pub fn deadline(&self) -> Duration {
        Duration::from_secs_f64(self.deadline)
    }
}

/// The `--flavor` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlavorArg {
    /// SOAP GetUserSettings at /autodiscover/autodiscover.svc
    Soap,
    /// Plain old XML at /autodiscover/autodiscover.xml
    Pox,
}

impl From<FlavorArg> for Flavor {
    fn from(flavor: FlavorArg) -> Self {
        match flavor {
            FlavorArg::Soap => Flavor::Soap,
            FlavorArg::Pox => Flavor::Pox,
        }
    }
}

/// The `--strategy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// One candidate at a time, in protocol order
    Sequential,
    /// Staggered candidates, responses taken in protocol order
    Parallel,
}

impl From<StrategyArg> for Strategy {
    fn from(strategy: StrategyArg) -> Self {
        match strategy {
            StrategyArg::Sequential => Strategy::Sequential,
            StrategyArg::Parallel => Strategy::default(),
        }
    }
}

/// Longest accepted `--timeout` or `--deadline`: one day, far above any useful discovery and
/// well inside what `Duration::from_secs_f64` represents.
const MAX_SECONDS: f64 = 86_400.0;

/// Parses a positive number of seconds, such as `30` or `2.5`.
fn parse_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds, such as 30 or 2.5"))?;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("{text:?} is not a positive number of seconds"));
    }
    if seconds > MAX_SECONDS {
        return Err(format!(
            "{text:?} is longer than one day ({MAX_SECONDS} seconds)"
        ));
    }
    Ok(seconds)
}

/// Parses `--nameserver` with the driver's rules, rewording its library-facing hints.
///
/// The driver reads `[2001:db8::53]:53` and a bare `2001:db8::53`, but not the bracketed
/// address without a port that the help text shows, so the brackets are removed here.
fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    let trimmed = text.trim();
    let address = match trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(inner) if inner.parse::<Ipv6Addr>().is_ok() => inner,
        Some(_) => {
            return Err(format!(
                "{trimmed:?} is not an IPv6 address in brackets, such as [2001:db8::53] or [2001:db8::53]:53"
            ))
        }
        None => trimmed,
    };
    autodiscover_smol::parse_nameserver(address).map_err(|error| match error {
        autodiscover_smol::Error::InvalidNameserver { addr, reason } => {
            format!("{addr} cannot be a nameserver: {reason}")
        }
        other => other.to_string(),
    })
}

/// Parses a `--trust` entry and returns it normalised as [`Config::trust_host`] stores it.
///
/// Rejects an entry that names no host (empty, `*`, `.`) and a single label, which as `.com`
/// or `*.com` would trust every host under a top-level domain. Also rejects an IP address,
/// because the core never sends credentials to one, and a name with an empty label, a port or
/// a `*` inside.
// NOTE: a multi-label public suffix such as `.co.uk` passes, because telling it from a
// company's domain needs the Public Suffix List, which this tool does not ship.
fn parse_trust(text: &str) -> Result<String, String> {
    let expected =
        "name a host such as mail.example.net, or .example.net to trust its subdomains too";
    let Some(entry) = Config::default().trust_host(text).trusted_hosts.pop() else {
        return Err(format!("{text:?} names no host; {expected}"));
    };
    let (name, subdomains) = match entry.strip_prefix('.') {
        Some(name) => (name, true),
        None => (entry.as_str(), false),
    };

    if name.parse::<IpAddr>().is_ok()
        || name
            .strip_prefix('[')
            .is_some_and(|rest| rest.ends_with(']'))
    {
        return Err(format!(
            "{text:?} is an IP address, and credentials are never sent to an IP address; {expected}"
        ));
    }
    if name.split('.').any(|label| label.is_empty()) {
        return Err(format!("{text:?} has an empty label; {expected}"));
    }
    let is_host_char = |c: char| !c.is_ascii() || c.is_ascii_alphanumeric() || "-_.".contains(c);
    if let Some(invalid) = name.chars().find(|c| !is_host_char(*c)) {
        return Err(format!(
            "{text:?} is not a host name because it contains {invalid:?} (only a leading `*.` is a wildcard, and a port is not part of the host); {expected}"
        ));
    }
    if !name.contains('.') {
        return Err(if subdomains {
            format!(
                "{text:?} would trust every host under the top-level domain {name:?} with credentials; {expected}"
            )
        } else {
            format!(
                "{text:?} is a single label, and Autodiscover never requests a single-label host; {expected}"
            )
        });
    }
    Ok(entry)
}

/// Parses `HOST:PORT:ADDR:PORT` as curl's `--connect-to` writes it. HOST and ADDR may be
/// IPv6 addresses in brackets; HOST keeps its brackets, as a URL writes an IPv6 host.
fn parse_connect_to(text: &str) -> Result<ConnectOverride, String> {
    let expected = "expected HOST:PORT:ADDR:PORT, such as autodiscover.example.com:443:127.0.0.1:8443 (IPv6 addresses in brackets)";
    let invalid = |problem: String| format!("invalid --connect-to {text:?}: {problem}; {expected}");

    let (host, rest) = split_host(text.trim()).ok_or_else(|| invalid("no HOST".to_owned()))?;
    let (port, addr) = rest
        .split_once(':')
        .ok_or_else(|| invalid("no ADDR:PORT after HOST:PORT".to_owned()))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| invalid(format!("{port:?} is not a port from 1 to 65535")))?;
    let addr: SocketAddr = addr.parse().map_err(|_| {
        invalid(format!(
            "{addr:?} is not an IP address and port, such as 127.0.0.1:8443 or [::1]:8443"
        ))
    })?;
    if addr.port() == 0 {
        return Err(invalid("the target port is 0".to_owned()));
    }

    Ok(ConnectOverride {
        host: host.trim_end_matches('.').to_ascii_lowercase(),
        port,
        addr,
    })
}

/// Splits `HOST:rest`, where HOST is a name, an IPv4 address or a bracketed IPv6 address.
fn split_host(text: &str) -> Option<(&str, &str)> {
    let end = if text.starts_with('[') {
        text.find(']')? + 1
    } else {
        text.find(':')?
    };
    let (host, rest) = text.split_at(end);
    let rest = rest.strip_prefix(':')?;
    (!host.is_empty() && host != "[]").then_some((host, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_to_accepts_ipv4_target() {
        let parsed = parse_connect_to("Autodiscover.Example.com:443:127.0.0.1:8443").unwrap();
        assert_eq!(parsed.host, "autodiscover.example.com");
        assert_eq!(parsed.port, 443);
        assert_eq!(parsed.addr, "127.0.0.1:8443".parse().unwrap());
    }

    #[test]
    fn connect_to_accepts_bracketed_ipv6() {
        let parsed = parse_connect_to("mail.example.com:443:[::1]:8443").unwrap();
        assert_eq!(parsed.addr, "[::1]:8443".parse().unwrap());

        let parsed = parse_connect_to("[2001:db8::5]:443:[::1]:8443").unwrap();
        assert_eq!(parsed.host, "[2001:db8::5]");
        assert_eq!(parsed.port, 443);
    }

    #[test]
    fn connect_to_rejects_malformed_values() {
        for text in [
            "",
            "example.com",
            "example.com:443",
            "example.com:443:127.0.0.1",
            "example.com:0:127.0.0.1:8443",
            "example.com:https:127.0.0.1:8443",
            "example.com:443:::1:8443",
            "example.com:443:127.0.0.1:0",
            ":443:127.0.0.1:8443",
            "[::1:443:127.0.0.1:8443",
        ] {
            let error = parse_connect_to(text).unwrap_err();
            assert!(error.contains("HOST:PORT:ADDR:PORT"), "{text:?}: {error}");
        }
    }

    #[test]
    fn nameserver_accepts_bracketed_ipv6_without_port() {
        assert_eq!(
            parse_nameserver("[::1]").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver(" [2001:db8::53] ").unwrap(),
            "[2001:db8::53]:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
    }

    #[test]
    fn nameserver_rejects_bad_brackets() {
        for text in ["[]", "[127.0.0.1]", "[example.com]", "[::1"] {
            assert!(parse_nameserver(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn trust_accepts_hosts_and_domains() {
        for (text, expected) in [
            ("mail.example.net", "mail.example.net"),
            (".example.net", ".example.net"),
            ("*.Example.NET", ".example.net"),
            ("https://mail.example.net/owa", "mail.example.net"),
            ("mail.example.net.", "mail.example.net"),
        ] {
            assert_eq!(parse_trust(text).as_deref(), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn trust_rejects_too_broad_entries() {
        for (text, reason) in [
            ("", "names no host"),
            ("*", "names no host"),
            (".", "names no host"),
            ("*.", "names no host"),
            (".com", "every host under the top-level domain \"com\""),
            ("*.com", "every host under the top-level domain \"com\""),
            ("com", "single label"),
            ("localhost", "single label"),
            ("192.0.2.1", "IP address"),
            ("[2001:db8::1]", "IP address"),
            ("mail..example.net", "empty label"),
            ("mail.*.example.net", "contains '*'"),
            ("mail.example.net:443", "contains ':'"),
        ] {
            let error = parse_trust(text).expect_err(text);
            assert!(error.contains(reason), "{text:?}: {error}");
            assert!(error.contains(".example.net"), "{text:?}: {error}");
        }
    }

    #[test]
    fn seconds_must_be_positive_and_finite() {
        assert_eq!(parse_seconds("2.5").unwrap(), 2.5);
        for text in ["0", "-1", "NaN", "inf", "ten", "100000"] {
            assert!(parse_seconds(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn strategy_help_matches_core_stagger() {
        // The `--strategy` help text states the stagger as 500 ms.
        assert_eq!(
            autodiscover::config::DEFAULT_STAGGER,
            Duration::from_millis(500)
        );
    }

    #[test]
    fn command_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
