//! S3's legacy presigned URLs (signature version 2, query string): `AWSAccessKeyId`,
//! `Expires` (epoch seconds) and `Signature`, the base64 HMAC-SHA1 of
//!
//! ```text
//! VERB \n Content-MD5 \n Content-Type \n Expires \n CanonicalizedAmzHeaders CanonicalizedResource
//! ```
//!
//! where the resource is `/bucket/key` as sent (still URL-encoded) followed by the
//! subresources S3 signs, sorted, their values as given. boto3's `generate_presigned_url` for
//! S3 makes these by default. Pure.

use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

/// The query parameters a presigned v2 URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedV2 {
    pub access_key: String,
    /// Base64, decoded from the query.
    pub signature: String,
    pub expires_s: i64,
}

/// The subresources S3 includes in a v2 string to sign.
const SUBRESOURCES: [&str; 26] = [
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
    "select",
];

/// The query parameters of a v2 presigned URL (to remove before the request goes on).
pub const PARAMS: [&str; 3] = ["AWSAccessKeyId", "Signature", "Expires"];

fn decode(s: &str) -> String {
    crate::sigv4::percent_decode_path(&s.replace('+', " "))
}

/// Finds a v2 presigned URL's parameters; `None` when the query has not all three.
pub fn parse(query: Option<&str>) -> Option<PresignedV2> {
    let q = query?;
    let get = |name: &str| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
            .map(decode)
    };
    Some(PresignedV2 {
        access_key: get("AWSAccessKeyId")?,
        signature: get("Signature")?,
        expires_s: get("Expires")?.parse().ok()?,
    })
}

/// The string a v2 signature covers. `bucket` is the virtual-hosted bucket, when the host
/// named it; `headers` are the request's (names any case).
pub fn string_to_sign(
    method: &str,
    path: &str,
    query: Option<&str>,
    bucket: Option<&str>,
    headers: &[(&str, &str)],
    expires_s: i64,
) -> String {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.trim())
    };
    let mut amz: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-amz-"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    amz.sort();
    let mut out = format!(
        "{method}\n{}\n{}\n{expires_s}\n",
        header("content-md5"),
        header("content-type")
    );
    for (n, v) in &amz {
        out.push_str(n);
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    if let Some(b) = bucket {
        out.push('/');
        out.push_str(b);
    }
    out.push_str(path);
    let mut subs: Vec<(String, Option<String>)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = match kv.split_once('=') {
                Some((k, v)) => (k, Some(decode(v))),
                None => (kv, None),
            };
            let k = decode(k);
            SUBRESOURCES.contains(&k.as_str()).then_some((k, v))
        })
        .collect();
    subs.sort();
    for (i, (k, v)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// The base64 signature `secret` gives a string to sign.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    crate::encode_blob(&mac.finalize().into_bytes())
}

/// Whether `given` (base64) is the signature `secret` gives.
pub fn verify(secret: &str, string_to_sign: &str, given: &str) -> bool {
    let expected = sign(secret, string_to_sign);
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example ("Query string request authentication alternative",
    /// Amazon S3 REST authentication, signature version 2).
    #[test]
    fn the_documented_example_verifies() {
        let to_sign = string_to_sign("GET", "/photos/puppy.jpg", None, Some("johnsmith"), &[], 1_175_139_620);
        assert_eq!(to_sign, "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
        assert_eq!(
            sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &to_sign),
            "NpgCjnDzrM+WFzoENXmpNDUsSn8="
        );
    }

    #[test]
    fn subresources_are_signed_sorted_and_others_not() {
        let q = "uploadId=abc&partNumber=2&AWSAccessKeyId=K&Expires=1&Signature=x&other=1";
        let s = string_to_sign("PUT", "/b/k", Some(q), None, &[("Content-Type", "text/plain")], 1);
        assert_eq!(s, "PUT\n\ntext/plain\n1\n/b/k?partNumber=2&uploadId=abc");
        let p = parse(Some("AWSAccessKeyId=AKID&Signature=a%2Bb%3D&Expires=99")).unwrap();
        assert_eq!(
            (p.access_key.as_str(), p.signature.as_str(), p.expires_s),
            ("AKID", "a+b=", 99)
        );
        assert!(parse(Some("AWSAccessKeyId=AKID&Expires=99")).is_none());
    }
}
