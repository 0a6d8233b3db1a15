//! SNS message signatures: the RSA key and self-signed certificate a tenant's topics sign with,
//! and the string SNS signs for each message type.
//!
//! As on AWS, `SignatureVersion` 1 signs with SHA1withRSA and 2 with SHA256withRSA (PKCS#1
//! v1.5), over the message's fields in a fixed order, each name and value followed by a
//! newline. The certificate is served unsigned at `SigningCertURL`
//! (`<endpoint>/SimpleNotificationService-<fingerprint>.pem`, the form AWS's URLs take).
//!
//! On disk: `<tenant>/sns/signing.pem`, the PKCS#8 private key and then the certificate, both
//! PEM, written once (temporary file, fsync, rename, fsync of the directory) when the tenant
//! first signs. The key is 2048-bit RSA, as AWS's are.

use rheo_log::Disk;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use sha2::Digest as _;
use std::path::Path;

pub const FILE: &str = "signing.pem";

/// DER DigestInfo prefixes of SHA-1 and SHA-256 (RFC 8017, 9.2, note 1).
const SHA1_PREFIX: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];

/// A tenant's signing key and its certificate.
pub struct SigningKey {
    key: RsaPrivateKey,
    cert_pem: String,
    /// The certificate's file name in its URL.
    cert_name: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("cert_name", &self.cert_name)
            .finish()
    }
}

impl SigningKey {
    /// Reads the key and certificate from `dir`, or makes and saves them.
    pub fn load_or_create(disk: &dyn Disk, dir: &Path) -> std::io::Result<SigningKey> {
        if let Some(key) = SigningKey::load(disk, dir)? {
            return Ok(key);
        }
        let (key_pem, cert_pem) = generate()?;
        let text = format!("{key_pem}{cert_pem}");
        rheo_log::disk::replace_file(disk, &dir.join(FILE), text.as_bytes())?;
        SigningKey::parse(&text)
    }

    /// Reads the key and certificate from `dir`, if they were made.
    pub fn load(disk: &dyn Disk, dir: &Path) -> std::io::Result<Option<SigningKey>> {
        match rheo_log::disk::read_all(disk, &dir.join(FILE)) {
            Ok(bytes) => SigningKey::parse(&String::from_utf8_lossy(&bytes)).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn parse(text: &str) -> std::io::Result<SigningKey> {
        let bad = |what: &str| std::io::Error::other(format!("the SNS signing file is damaged: {what}"));
        let split = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| bad("no certificate"))?;
        let key = RsaPrivateKey::from_pkcs8_pem(&text[..split]).map_err(|_| bad("no private key"))?;
        let cert_pem = text[split..].to_owned();
        let der = pem_body(&cert_pem).ok_or_else(|| bad("the certificate is not PEM"))?;
        let fingerprint = hex(&sha2::Sha256::digest(&der)[..16]);
        Ok(SigningKey {
            key,
            cert_pem,
            cert_name: format!("SimpleNotificationService-{fingerprint}.pem"),
        })
    }

    /// The certificate's file name: `SimpleNotificationService-<fingerprint>.pem`.
    pub fn cert_name(&self) -> &str {
        &self.cert_name
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The base64 signature of `text` for a SignatureVersion ("2": SHA256withRSA; otherwise
    /// SHA1withRSA).
    pub fn sign(&self, version: &str, text: &str) -> String {
        let (padding, hash) = if version == "2" {
            (
                padding(&SHA256_PREFIX, 32),
                sha2::Sha256::digest(text.as_bytes()).to_vec(),
            )
        } else {
            (padding(&SHA1_PREFIX, 20), sha1::Sha1::digest(text.as_bytes()).to_vec())
        };
        let signature = self
            .key
            .sign(padding, &hash)
            .expect("a 2048-bit key signs a 20- or 32-byte digest");
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(signature)
    }
}

fn padding(prefix: &[u8], hash_len: usize) -> Pkcs1v15Sign {
    Pkcs1v15Sign {
        hash_len: Some(hash_len),
        prefix: prefix.into(),
    }
}

/// A new 2048-bit key (PKCS#8 PEM) and a self-signed certificate for it (PEM).
fn generate() -> std::io::Result<(String, String)> {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(std::io::Error::other)?;
    let key_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(std::io::Error::other)?
        .to_string();
    let pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(std::io::Error::other)?;
    let mut params = rcgen::CertificateParams::new(vec!["sns.rheo.local".to_owned()]).map_err(std::io::Error::other)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sns.rheo.local");
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    let cert = params.self_signed(&pair).map_err(std::io::Error::other)?;
    Ok((key_pem, cert.pem()))
}

fn pem_body(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fields of an SNS message, as signed.
pub struct Signed<'a> {
    pub kind: &'a str,
    pub message: &'a str,
    pub message_id: &'a str,
    pub subject: Option<&'a str>,
    pub subscribe_url: Option<&'a str>,
    pub timestamp: &'a str,
    pub token: Option<&'a str>,
    pub topic_arn: &'a str,
}

/// The string SNS signs: for a Notification `Message`, `MessageId`, `Subject` (when given),
/// `Timestamp`, `TopicArn`, `Type`; for a SubscriptionConfirmation or
/// UnsubscribeConfirmation `Message`, `MessageId`, `SubscribeURL`, `Timestamp`, `Token`,
/// `TopicArn`, `Type`; each as `Name\nvalue\n`.
pub fn string_to_sign(m: &Signed<'_>) -> String {
    let mut fields: Vec<(&str, &str)> = vec![("Message", m.message), ("MessageId", m.message_id)];
    if m.kind == "Notification" {
        fields.extend(m.subject.map(|s| ("Subject", s)));
        fields.push(("Timestamp", m.timestamp));
    } else {
        fields.push(("SubscribeURL", m.subscribe_url.unwrap_or_default()));
        fields.push(("Timestamp", m.timestamp));
        fields.push(("Token", m.token.unwrap_or_default()));
    }
    fields.push(("TopicArn", m.topic_arn));
    fields.push(("Type", m.kind));
    let mut out = String::new();
    for (name, value) in fields {
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    #[test]
    fn notifications_and_confirmations_sign_their_fields_in_order() {
        let n = Signed {
            kind: "Notification",
            message: "hello",
            message_id: "id",
            subject: Some("s"),
            subscribe_url: None,
            timestamp: "2026-01-01T00:00:00.000Z",
            token: None,
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t",
        };
        assert_eq!(
            string_to_sign(&n),
            "Message\nhello\nMessageId\nid\nSubject\ns\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n"
        );
        let c = Signed {
            kind: "SubscriptionConfirmation",
            subject: None,
            subscribe_url: Some("http://x/?a"),
            token: Some("tok"),
            ..n
        };
        assert_eq!(
            string_to_sign(&c),
            "Message\nhello\nMessageId\nid\nSubscribeURL\nhttp://x/?a\nTimestamp\n2026-01-01T00:00:00.000Z\nToken\ntok\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nSubscriptionConfirmation\n"
        );
    }

    /// The signature verifies with the certificate's public key under both versions (checked
    /// here with the rsa crate's own verifier; CI checks it with AWS's JavaScript validator).
    #[test]
    fn a_key_is_made_once_and_signs_with_sha1_or_sha256() {
        let disk = rheo_log::disk::SimDisk::default();
        let dir = Path::new("/sns");
        disk.create_dir_all(dir).unwrap();
        let key = SigningKey::load_or_create(&disk, dir).unwrap();
        let again = SigningKey::load_or_create(&disk, dir).unwrap();
        assert_eq!(key.cert_name(), again.cert_name());
        assert!(key.cert_name().starts_with("SimpleNotificationService-"));
        assert_eq!(key.key.size(), 256);
        use base64::Engine as _;
        let public = key.key.to_public_key();
        for (version, hash) in [
            ("1", sha1::Sha1::digest(b"text").to_vec()),
            ("2", sha2::Sha256::digest(b"text").to_vec()),
        ] {
            let sig = base64::engine::general_purpose::STANDARD
                .decode(key.sign(version, "text"))
                .unwrap();
            let scheme = if version == "2" {
                padding(&SHA256_PREFIX, 32)
            } else {
                padding(&SHA1_PREFIX, 20)
            };
            public.verify(scheme, &hash, &sig).unwrap();
        }
    }
}
