//! A certificate authority made at run time with `rcgen`, and the leaf
//! certificates it issues for the HTTPS servers.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::RootCertStore;

use crate::error::Error;

/// Start of the CA certificate's common name, shown by clients in
/// verification errors.
const CA_COMMON_NAME_PREFIX: &str = "autodiscover-testworld CA";

/// Number of CAs created so far in this process, which makes each CA's name
/// unique. Two CAs with one name would make a client that trusts the wrong
/// one report a bad signature instead of an unknown issuer.
static CA_COUNT: AtomicU64 = AtomicU64::new(0);

/// A fresh certificate authority with an ECDSA P-256 key, made when the
/// value is created and never written anywhere unless [`TestCa::pem_file`]
/// is called.
///
/// Its subject name contains the process id and a counter, so no two CAs of
/// one process share a name.
///
/// Certificates it issues are valid from 1975 to 4096 (rcgen's defaults), so
/// no test depends on the clock.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    pem_file: Mutex<Option<tempfile::NamedTempFile>>,
}

impl TestCa {
    /// Generates a new CA key and self-signed CA certificate.
    pub fn new() -> Result<Self, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let number = CA_COUNT.fetch_add(1, Ordering::Relaxed);
        let common_name = format!("{CA_COMMON_NAME_PREFIX} {} #{number}", std::process::id());
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];

        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
            pem_file: Mutex::new(None),
        })
    }

    /// Returns the CA certificate in PEM format.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Returns the CA certificate in DER format.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// Returns a rustls root store that trusts only this CA.
    pub fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        // A certificate rcgen just made always parses. If it ever did not,
        // the store would stay empty and every handshake would fail.
        if let Err(error) = roots.add(self.cert_der.clone()) {
            tracing::error!(%error, "rustls rejected the test CA certificate");
        }
        roots
    }

    /// Writes the CA certificate in PEM format to a temporary file, the first
    /// time it is called, and returns the file's path, for options such as
    /// `--ca-file`.
    ///
    /// The file is deleted when the `TestCa` is dropped.
    pub fn pem_file(&self) -> Result<PathBuf, Error> {
        let mut slot = self.pem_file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(file) = slot.as_ref() {
            return Ok(file.path().to_path_buf());
        }

        let mut file = tempfile::Builder::new()
            .prefix("testworld-ca-")
            .suffix(".pem")
            .tempfile()
            .map_err(Error::CaFile)?;
        file.write_all(self.cert_pem.as_bytes())
            .and_then(|()| file.flush())
            .map_err(Error::CaFile)?;
        let path = file.path().to_path_buf();
        *slot = Some(file);
        Ok(path)
    }

    /// Issues a server certificate whose subject alternative names are
    /// `names`, with a new key.
    ///
    /// A name that parses as an IP address becomes an IP address SAN, every
    /// other name a DNS name SAN. To test a name mismatch, issue a
    /// certificate for a name the client will not ask for.
    pub fn issue(&self, names: &[&str]) -> Result<LeafCert, Error> {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone())?;
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;

        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(LeafCert {
            names,
            chain: vec![cert.der().clone(), self.cert_der.clone()],
            key_der: key.serialize_der(),
            cert_pem: cert.pem(),
        })
    }
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A server certificate issued by a [`TestCa`], with its private key.
#[derive(Clone)]
pub struct LeafCert {
    names: Vec<String>,
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
    cert_pem: String,
}

impl LeafCert {
    /// Returns the subject alternative names the certificate was issued for.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Returns the leaf certificate in PEM format, without the CA.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Builds a rustls server configuration that presents this certificate
    /// followed by the CA certificate, offers TLS 1.2 and 1.3 with the ring
    /// provider, and negotiates only the ALPN protocol "http/1.1".
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl std::fmt::Debug for LeafCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafCert")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}
