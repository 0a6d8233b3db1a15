//! TLS for the Kinesis port: a certificate chain and key from PEM files, or a self-signed
//! certificate that Rheo generates once and keeps in its data directory
//! (`tls/cert.pem`, `tls/key.pem`, for `localhost`, `127.0.0.1` and `::1`), so clients can
//! trust it across restarts. ALPN offers `h2` and `http/1.1`.
//!
//! With TLS on, the same port still serves cleartext: the accept loop looks at a connection's
//! first byte (22, a TLS handshake record, or anything else) and serves it accordingly.

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files: the certificate chain (leaf first) and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// A self-signed certificate kept in this directory, made on first use.
    SelfSigned { dir: PathBuf },
}

/// The certificate files of a self-signed setup in `dir`, creating them if absent.
pub fn self_signed(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir)?;
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem())?;
    tracing::info!(cert = %cert.display(), "generated a self-signed TLS certificate");
    Ok((cert, key))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// The rustls configuration for `source`.
pub fn server_config(source: &TlsSource) -> std::io::Result<Arc<ServerConfig>> {
    let (cert, key) = match source {
        TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
        TlsSource::SelfSigned { dir } => self_signed(dir)?,
    };
    let bad = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("reading the TLS {what} {}: {e}", path.display()),
        )
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .map_err(|e| bad("certificate", &cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("certificate", &cert, &e))?;
    if chain.is_empty() {
        return Err(bad("certificate", &cert, &"no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(&key).map_err(|e| bad("key", &key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| bad("certificate and key", &cert, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path()).unwrap();
        let first = std::fs::read(&cert).unwrap();
        server_config(&TlsSource::SelfSigned {
            dir: dir.path().to_owned(),
        })
        .unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), first, "kept across starts");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn unreadable_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        let e = server_config(&TlsSource::Files {
            cert: cert.clone(),
            key: dir.path().join("missing.pem"),
        })
        .unwrap_err();
        assert!(e.to_string().contains("cert.pem"), "{e}");
    }
}
