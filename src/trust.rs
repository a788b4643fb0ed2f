//! Credential trust of hosts, and the checks every endpoint URL must pass.

use std::net::IpAddr;

use url::{Host, Url};

use crate::config::{normalize_trusted_host, Config, MICROSOFT_365_HOSTS};

/// Returns the host of `url` in lowercase without a trailing dot, or `None` for a URL without
/// a host.
pub(crate) fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let host = host.strip_suffix('.').unwrap_or(host);
    Some(host.to_ascii_lowercase())
}

/// Decides whether `host` may receive credentials: it is one of `domains` (the email domains of
/// this discovery) or a subdomain of one, a host the caller listed, or a Microsoft 365 host.
pub(crate) fn is_trusted_host(host: &str, domains: &[String], config: &Config) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.parse::<IpAddr>().is_ok() {
        return false;
    }
    let within = |domain: &str| {
        host == domain
            || (host.len() > domain.len()
                && host.ends_with(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
    };
    if domains.iter().any(|domain| within(domain)) {
        return true;
    }
    if MICROSOFT_365_HOSTS.contains(&host.as_str()) {
        return true;
    }
    config.trusted_hosts.iter().any(|entry| {
        // Entries pushed to the public field directly skip `trust_host`, so normalise here too.
        let entry = normalize_trusted_host(entry);
        match entry.strip_prefix('.') {
            Some(suffix) => within(suffix),
            None => host == entry,
        }
    })
}

/// Checks that `url` may be requested at all as an Autodiscover endpoint: https, a DNS host
/// name of at least two labels that is not `autodiscover.<TLD>`, and no user info.
///
/// Returns the reason for a rejection.
pub(crate) fn check_endpoint_url(url: &Url) -> Result<(), String> {
    if url.scheme() != "https" {
        return Err(format!(
            "scheme {:?} is not https, and Autodiscover credentials and settings travel only over https",
            url.scheme()
        ));
    }
    if url.port() == Some(0) {
        return Err("the URL names port 0, which no server listens on".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL carries user information".to_owned());
    }
    let host = match url.host() {
        Some(Host::Domain(host)) => host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase(),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
            return Err(
                "the host is an IP address, which no certificate for a mail domain names"
                    .to_owned(),
            )
        }
        None => return Err("the URL has no host".to_owned()),
    };
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return Err(format!(
            "host {host:?} is not a fully qualified name of at least two labels"
        ));
    }
    if labels.len() == 2 && labels[0] == "autodiscover" {
        return Err(format!(
            "host {host:?} is autodiscover.<top-level domain>, which belongs to no mail domain"
        ));
    }
    Ok(())
}

/// Returns the normalised form of `url` used to detect revisits: scheme and host lowercased,
/// default port and fragment dropped, a trailing dot on the host removed.
pub(crate) fn normalize_url(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    if let Some(host) = url.host_str() {
        if let Some(stripped) = host.strip_suffix('.') {
            let stripped = stripped.to_owned();
            // A host that parsed with a trailing dot parses without it too.
            let _ = url.set_host(Some(&stripped));
        }
    }
    url.as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn default_port_compares_equal() {
        assert_eq!(
            normalize_url(&url("https://Host.Example.com:443/a/B.xml#x")),
            normalize_url(&url("https://host.example.com/a/B.xml"))
        );
        assert_ne!(
            normalize_url(&url("https://host.example.com/a/b.xml")),
            normalize_url(&url("https://host.example.com/a/B.xml"))
        );
    }

    #[test]
    fn trust_covers_domain_subdomains_and_listed() {
        let domains = vec!["example.com".to_owned()];
        let config = Config::default()
            .trust_host("mail.example.net")
            .trust_host(".hosted.example")
            .trust_host("https://Web.Example.ORG./path")
            .trust_host("*.wild.example");
        assert!(is_trusted_host("example.com", &domains, &config));
        assert!(is_trusted_host("ad1.example.com", &domains, &config));
        assert!(is_trusted_host(
            "AUTODISCOVER-S.outlook.com",
            &domains,
            &config
        ));
        assert!(is_trusted_host("mail.example.net", &domains, &config));
        assert!(is_trusted_host("x.hosted.example", &domains, &config));
        assert!(!is_trusted_host("badexample.com", &domains, &config));
        assert!(!is_trusted_host("com", &domains, &config));
        assert!(!is_trusted_host("other.example.net", &domains, &config));
        assert!(!is_trusted_host("127.0.0.1", &domains, &config));
        assert!(is_trusted_host("web.example.org", &domains, &config));
        assert!(is_trusted_host("a.wild.example", &domains, &config));
        assert!(!is_trusted_host("other.example.org", &domains, &config));
    }

    #[test]
    fn endpoint_rules() {
        assert!(check_endpoint_url(&url("https://mail.example.com/x")).is_ok());
        assert!(check_endpoint_url(&url("http://mail.example.com/x")).is_err());
        assert!(check_endpoint_url(&url("https://autodiscover.com/x")).is_err());
        assert!(check_endpoint_url(&url("https://localhost/x")).is_err());
        assert!(check_endpoint_url(&url("https://192.0.2.1/x")).is_err());
        assert!(check_endpoint_url(&url("https://u:p@mail.example.com/x")).is_err());
        assert!(check_endpoint_url(&url("https://mail.example.com:0/x")).is_err());
    }
}
