//! The rustls client configuration: roots, an optional CA file, and the `ring` provider.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tracing::{debug, warn};

use crate::error::Error;
use crate::options::Roots;

/// Builds the TLS client configuration: the chosen roots plus the certificates of `ca_file`,
/// and ALPN `http/1.1`.
///
/// The `ring` provider is named explicitly instead of relying on rustls' process default,
/// because another crate in the same program may enable `aws-lc-rs` too, and rustls then
/// refuses to pick one.
///
/// # Errors
/// [`Error::CaFile`] or [`Error::InvalidCaFile`] for the CA file, [`Error::NoRoots`] when no
/// root is trusted at all, and [`Error::Tls`] when rustls rejects the configuration.
pub fn client_config(roots: Roots, ca_file: Option<&Path>) -> Result<ClientConfig, Error> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::WebPki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::Native => add_native_roots(&mut store)?,
        Roots::None => {}
    }
    if let Some(path) = ca_file {
        add_ca_file(&mut store, path)?;
    }
    if store.is_empty() {
        return Err(Error::NoRoots {
            reason: "Roots::None was chosen and no CA file was given".to_owned(),
        });
    }
    debug!(roots = store.len(), "TLS root store ready");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::Tls(error.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn add_native_roots(store: &mut RootCertStore) -> Result<(), Error> {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        warn!(%error, "skipping part of the operating system's certificate store");
    }
    let (added, ignored) = store.add_parsable_certificates(loaded.certs);
    if ignored > 0 {
        debug!(
            added,
            ignored, "some operating system certificates are not usable as roots"
        );
    }
    if added == 0 {
        let reason = match loaded.errors.first() {
            Some(error) => format!("the operating system's store could not be read ({error})"),
            None => "the operating system's store contains no usable certificate".to_owned(),
        };
        return Err(Error::NoRoots { reason });
    }
    Ok(())
}

fn add_ca_file(store: &mut RootCertStore, path: &Path) -> Result<(), Error> {
    // Read the file first, so that a missing file reports the operating system's error
    // instead of a PEM parse error.
    let text = std::fs::read(path).map_err(|source| Error::CaFile {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| Error::InvalidCaFile {
        path: path.to_owned(),
        reason,
    };

    let mut count = 0;
    for certificate in CertificateDer::pem_slice_iter(&text) {
        let certificate = certificate.map_err(|error| invalid(error.to_string()))?;
        store
            .add(certificate)
            .map_err(|error| invalid(format!("certificate {}: {error}", count + 1)))?;
        count += 1;
    }
    if count == 0 {
        return Err(invalid("it contains no certificate".to_owned()));
    }
    debug!(path = %path.display(), count, "added CA certificates");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_names_path() {
        let error = client_config(Roots::WebPki, Some(Path::new("/nonexistent/ca.pem")))
            .expect_err("a missing file must fail");
        let message = error.to_string();
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
        assert!(message.contains("Options::ca_file"), "{message}");
    }

    #[test]
    fn ca_file_without_certificate_is_invalid() {
        let path = std::env::temp_dir().join(format!(
            "autodiscover-driver-empty-{}.pem",
            std::process::id()
        ));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = client_config(Roots::None, Some(&path)).expect_err("no certificate");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(error, Error::InvalidCaFile { .. }), "{error}");
    }

    #[test]
    fn no_roots_at_all_is_an_error() {
        let error = client_config(Roots::None, None).expect_err("empty store");
        assert!(matches!(error, Error::NoRoots { .. }), "{error}");
    }

    #[test]
    fn webpki_roots_build() {
        let config = client_config(Roots::WebPki, None).expect("Mozilla's roots are built in");
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }
}
