//! AWS Signature Version 4: parsing a request's signature (the `Authorization` header or a
//! presigned query string), and computing the signature a secret key gives a request, to verify
//! it or to sign one. Pure: time and the request's parts are arguments.
//!
//! The canonical request is, lines joined by `\n`:
//!
//! ```text
//! METHOD
//! canonical path       each segment of the path as sent, URI-encoded again (non-S3 services)
//!                      after removing `.`/`..` segments and empty segments
//! canonical query      pairs decoded (`+` as space, as the SDKs do), URI-encoded (RFC 3986
//!                      unreserved kept), sorted; a presigned request's X-Amz-Signature left out
//! canonical headers    `name:value\n` for each signed header: name lowercased, values
//!                      trimmed with inner runs of spaces collapsed, repeated headers joined by `,`
//! signed headers       the names joined by `;`
//! payload hash         hex SHA-256 of the body, or `x-amz-content-sha256` when it is
//!                      `UNSIGNED-PAYLOAD` or a `STREAMING-…` marker (and always
//!                      `UNSIGNED-PAYLOAD` for presigned requests)
//! ```
//!
//! The string to sign is `AWS4-HMAC-SHA256\n{X-Amz-Date}\n{date}/{region}/{service}/aws4_request\n`
//! followed by the hex SHA-256 of the canonical request; the key is the HMAC-SHA256 chain
//! `"AWS4"+secret → date → region → service → "aws4_request"`; the signature is the hex
//! HMAC of the string to sign. Signatures are compared in constant time.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<Sha256>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far a request's time may be from the server's (AWS's window).
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// A request as the signature covers it.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The path as sent (still percent-encoded).
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: Option<&'a str>,
    /// Header names (any case) and values, in the order received. For HTTP/2, include `host`
    /// from the `:authority`.
    pub headers: &'a [(&'a str, &'a str)],
}

/// The credential scope: `AKID/YYYYMMDD/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

/// A request's signature, parsed and checked for completeness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub scope: Scope,
    /// Lowercase, as listed.
    pub signed_headers: Vec<String>,
    /// Hex, as sent.
    pub signature: String,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// Presigned (query string) rather than an Authorization header.
    pub presigned: bool,
    /// A presigned request's X-Amz-Expires, in seconds.
    pub expires_s: Option<i64>,
}

/// Why a request's signature is refused, with AWS's error names and texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// No Authorization header and no presigned query: MissingAuthenticationTokenException.
    Missing,
    /// A signature lacking parts or malformed: IncompleteSignatureException.
    Incomplete(String),
    /// A well-formed signature that does not verify, or is out of its time window:
    /// InvalidSignatureException.
    Invalid(String),
    /// An access key the server does not know: UnrecognizedClientException.
    UnknownKey,
}

impl SigError {
    pub fn name(&self) -> &'static str {
        match self {
            SigError::Missing => "MissingAuthenticationTokenException",
            SigError::Incomplete(_) => "IncompleteSignatureException",
            SigError::Invalid(_) => "InvalidSignatureException",
            SigError::UnknownKey => "UnrecognizedClientException",
        }
    }
    pub fn message(&self) -> String {
        match self {
            SigError::Missing => "Missing Authentication Token".into(),
            SigError::Incomplete(m) | SigError::Invalid(m) => m.clone(),
            SigError::UnknownKey => "The security token included in the request is invalid.".into(),
        }
    }
}

pub const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn header<'a>(req: &RequestParts<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_decode(k), percent_decode(v))
    })
}

/// Finds and checks the request's signature.
pub fn parse(req: &RequestParts<'_>) -> Result<Signature, SigError> {
    if let Some(auth) = header(req, "authorization") {
        return parse_header(req, auth);
    }
    let presigned = req
        .query
        .is_some_and(|q| query_pairs(q).any(|(k, _)| k == "X-Amz-Signature" || k == "X-Amz-Credential"));
    if presigned {
        return parse_query(req.query.unwrap_or_default());
    }
    Err(SigError::Missing)
}

fn parse_header(req: &RequestParts<'_>, auth: &str) -> Result<Signature, SigError> {
    let Some(rest) = auth.trim().strip_prefix(ALGORITHM) else {
        return Err(SigError::Incomplete(format!(
            "Authorization header requires the {ALGORITHM} algorithm. Authorization={auth}"
        )));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let amz_date = header(req, "x-amz-date");
    let mut missing = String::new();
    if credential.is_none() {
        missing.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if signature.is_none() {
        missing.push_str("Authorization header requires 'Signature' parameter. ");
    }
    if signed.is_none() {
        missing.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    if amz_date.is_none() {
        missing.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
    }
    if !missing.is_empty() {
        return Err(SigError::Incomplete(format!("{missing}Authorization={auth}")));
    }
    let scope = parse_scope(credential.unwrap_or_default())?;
    finish(
        scope,
        signed.unwrap_or_default(),
        signature.unwrap_or_default(),
        amz_date.unwrap_or_default(),
        false,
        None,
    )
}

fn parse_query(query: &str) -> Result<Signature, SigError> {
    let get = |name: &str| query_pairs(query).find(|(k, _)| k == name).map(|(_, v)| v);
    let mut missing = Vec::new();
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ] {
        if get(name).is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(SigError::Incomplete(format!(
            "AWS query-string parameters must include {}. Re-examine the query-string parameters.",
            missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", ")
        )));
    }
    if get("X-Amz-Algorithm").as_deref() != Some(ALGORITHM) {
        return Err(SigError::Incomplete(format!(
            "X-Amz-Algorithm only supports {ALGORITHM}."
        )));
    }
    let expires = match get("X-Amz-Expires") {
        Some(e) => Some(
            e.parse::<i64>()
                .ok()
                .filter(|s| (1..=604_800).contains(s))
                .ok_or_else(|| {
                    SigError::Incomplete(format!("X-Amz-Expires must be between 1 and 604800 seconds, got {e}."))
                })?,
        ),
        None => None,
    };
    let scope = parse_scope(&get("X-Amz-Credential").unwrap_or_default())?;
    finish(
        scope,
        &get("X-Amz-SignedHeaders").unwrap_or_default(),
        &get("X-Amz-Signature").unwrap_or_default(),
        &get("X-Amz-Date").unwrap_or_default(),
        true,
        expires,
    )
}

fn parse_scope(credential: &str) -> Result<Scope, SigError> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts[..] {
        [key, date, region, service, "aws4_request"]
            if !key.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty()
                && !service.is_empty() =>
        {
            Ok(Scope {
                access_key: key.to_owned(),
                date: date.to_owned(),
                region: region.to_owned(),
                service: service.to_owned(),
            })
        }
        _ => Err(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region, service and date, as AKID/YYYYMMDD/REGION/SERVICE/aws4_request. Credential={credential}"
        ))),
    }
}

fn finish(
    scope: Scope,
    signed: &str,
    signature: &str,
    amz_date: &str,
    presigned: bool,
    expires_s: Option<i64>,
) -> Result<Signature, SigError> {
    if parse_amz_date(amz_date).is_none() {
        return Err(SigError::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    }
    if !amz_date.starts_with(&scope.date) {
        return Err(SigError::Invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            scope.date,
            amz_date.get(..8).unwrap_or_default()
        )));
    }
    let signed_headers: Vec<String> = signed
        .split(';')
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if signed_headers.is_empty() || signature.is_empty() || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SigError::Incomplete(format!(
            "The signature or its signed headers are empty or malformed: SignedHeaders={signed}, Signature={signature}"
        )));
    }
    Ok(Signature {
        scope,
        signed_headers,
        signature: signature.to_owned(),
        amz_date: amz_date.to_owned(),
        presigned,
        expires_s,
    })
}

/// `YYYYMMDDTHHMMSSZ` as epoch milliseconds. Works on bytes: any input, multibyte characters
/// included, is either a date or `None`.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b: &[u8; 16] = s.as_bytes().try_into().ok()?;
    if b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |acc, &c| {
            let digit = c.is_ascii_digit().then(|| i64::from(c.wrapping_sub(b'0')))?;
            acc.checked_mul(10)?.checked_add(digit)
        })
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, sec) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    seconds_of(days_from_civil(y, mo, d), h, mi, sec).checked_mul(1000)
}

#[expect(
    clippy::arithmetic_side_effects,
    reason = "bounded: days of a four-digit year, hours, minutes and seconds of two digits"
)]
fn seconds_of(days: i64, h: i64, mi: i64, sec: i64) -> i64 {
    days * 86_400 + h * 3600 + mi * 60 + sec
}

/// Epoch milliseconds as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
#[expect(
    clippy::arithmetic_side_effects,
    reason = "bounded: a four-digit year, a month and a day checked by the caller"
)]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[expect(
    clippy::arithmetic_side_effects,
    reason = "bounded: days of an i64 of milliseconds, far inside i64 after these small factors"
)]
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Checks the request's time against `now_ms`: within AWS's 5-minute window for a header
/// signature, within X-Amz-Expires (and not from the future) for a presigned one.
pub fn check_time(sig: &Signature, now_ms: i64) -> Result<(), SigError> {
    let at = parse_amz_date(&sig.amz_date).unwrap_or_default();
    let now = format_amz_date(now_ms);
    if sig.presigned {
        let expires_s = sig.expires_s.unwrap_or(900);
        let expires = expires_s.saturating_mul(1000);
        if now_ms > at.saturating_add(expires) {
            return Err(SigError::Invalid(format!(
                "Signature expired: {} is now earlier than {} ({now} - {expires_s} sec.)",
                sig.amz_date,
                format_amz_date(now_ms.saturating_sub(expires)),
            )));
        }
    } else if at < now_ms.saturating_sub(MAX_SKEW_MS) {
        return Err(SigError::Invalid(format!(
            "Signature expired: {} is now earlier than {} ({now} - 5 min.)",
            sig.amz_date,
            format_amz_date(now_ms.saturating_sub(MAX_SKEW_MS))
        )));
    }
    if at > now_ms.saturating_add(MAX_SKEW_MS) {
        return Err(SigError::Invalid(format!(
            "Signature not yet current: {} is still later than {} ({now} + 5 min.)",
            sig.amz_date,
            format_amz_date(now_ms.saturating_add(MAX_SKEW_MS))
        )));
    }
    Ok(())
}

/// The payload hash the canonical request uses; `body_sha256` computes the body's when needed.
/// A presigned request's is `UNSIGNED-PAYLOAD` unless its query says otherwise (callers may
/// also try the body's hash, as some signers use it).
pub fn payload_hash(req: &RequestParts<'_>, sig: &Signature, body_sha256: impl FnOnce() -> String) -> String {
    if sig.presigned {
        let given = req.query.and_then(|q| {
            query_pairs(q)
                .find(|(k, _)| k == "X-Amz-Content-Sha256")
                .map(|(_, v)| v)
        });
        return given.unwrap_or_else(|| UNSIGNED_PAYLOAD.to_owned());
    }
    match header(req, "x-amz-content-sha256") {
        Some(v) if v == UNSIGNED_PAYLOAD || v.starts_with("STREAMING-") => v.to_owned(),
        _ => body_sha256(),
    }
}

/// The payload hash a request declares: a presigned request's `X-Amz-Content-Sha256` query
/// parameter (`UNSIGNED-PAYLOAD` when absent), a header signature's `x-amz-content-sha256`
/// header (`None` when absent: the body's hash is signed).
pub fn declared_payload_hash(req: &RequestParts<'_>, sig: &Signature) -> Option<String> {
    if sig.presigned {
        return Some(payload_hash(req, sig, String::new));
    }
    header(req, "x-amz-content-sha256").map(str::to_owned)
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The canonical request of `req` under `sig`'s signed headers.
pub fn canonical_request(req: &RequestParts<'_>, sig: &Signature, payload_hash: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_path(req.path, sig.scope.service == "s3"));
    out.push('\n');
    out.push_str(&canonical_query(req.query.unwrap_or_default(), sig.presigned));
    out.push('\n');
    for name in &sig.signed_headers {
        out.push_str(name);
        out.push(':');
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&sig.signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// The canonical URI. S3's is its path decoded and encoded once, as sent: no `.`/`..`
/// resolution, no merging of slashes (a key may hold any of them); every other service's is
/// normalised and each segment encoded again.
fn canonical_path(path: &str, s3: bool) -> String {
    if s3 {
        let decoded = percent_decode_path(path);
        let mut out = String::with_capacity(decoded.len());
        for part in decoded.split('/').enumerate() {
            if part.0 > 0 {
                out.push('/');
            }
            out.push_str(&uri_encode(part.1));
        }
        return out;
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&segments.iter().map(|s| uri_encode(s)).collect::<Vec<_>>().join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 encoding: unreserved characters stay, every other byte becomes `%XX`.
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes a query key or value as the SDKs do (`application/x-www-form-urlencoded`: `+` is a
/// space, `%XX` a byte, a stray `%` itself).
fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let value = match tail {
                    [hi, lo, ..] => hex_value(*hi).zip(hex_value(*lo)).map(|(h, l)| h << 4 | l),
                    _ => None,
                };
                match value {
                    Some(v) => {
                        out.push(v);
                        rest = tail.get(2..).unwrap_or_default();
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes a path: `%XX` a byte (`+` stays itself, unlike in a query).
pub fn percent_decode_path(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        let value = match (c, tail) {
            (b'%', [hi, lo, ..]) => hex_value(*hi).zip(hex_value(*lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match value {
            Some(v) => {
                out.push(v);
                rest = tail.get(2..).unwrap_or_default();
            }
            None => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The string to sign for a canonical request.
pub fn string_to_sign(sig: &Signature, canonical: &str) -> String {
    let s = &sig.scope;
    format!(
        "{ALGORITHM}\n{}\n{}/{}/{}/aws4_request\n{}",
        sig.amz_date,
        s.date,
        s.region,
        s.service,
        sha256_hex(canonical.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn signing_key(secret: &str, scope: &Scope) -> [u8; 32] {
    let k = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k = hmac(&k, scope.region.as_bytes());
    let k = hmac(&k, scope.service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// The hex signature `secret` gives the string to sign under `scope`.
pub fn signature_for(secret: &str, scope: &Scope, string_to_sign: &str) -> String {
    hex(&hmac(&signing_key(secret, scope), string_to_sign.as_bytes()))
}

/// The signatures of an `aws-chunked` body's chunks and trailer (S3's
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): each chains from the one before, the first
/// from the request's own signature.
#[derive(Clone)]
pub struct ChunkSigner {
    key: [u8; 32],
    /// `AMZDATE\nDATE/REGION/SERVICE/aws4_request`.
    date_scope: String,
    previous: String,
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigner").field("previous", &self.previous).finish()
    }
}

/// Hex SHA-256 of nothing.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl ChunkSigner {
    /// Starts the chain at the request's (verified) signature.
    pub fn new(secret: &str, sig: &Signature) -> ChunkSigner {
        let s = &sig.scope;
        ChunkSigner {
            key: signing_key(secret, s),
            date_scope: format!("{}\n{}/{}/{}/aws4_request", sig.amz_date, s.date, s.region, s.service),
            previous: sig.signature.to_ascii_lowercase(),
        }
    }

    /// Whether `given` is the signature of the next chunk, whose SHA-256 is `chunk_sha256`
    /// (raw); the chain moves on either way.
    pub fn check_chunk(&mut self, chunk_sha256: &[u8], given: &str) -> bool {
        let expected = self.sign_chunk(chunk_sha256);
        bool::from(expected.as_bytes().ct_eq(given.to_ascii_lowercase().as_bytes()))
    }

    /// The next chunk's signature (for Rheo's own clients); the chain moves on.
    pub fn sign_chunk(&mut self, chunk_sha256: &[u8]) -> String {
        let to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.date_scope,
            self.previous,
            hex(chunk_sha256)
        );
        self.previous = hex(&hmac(&self.key, to_sign.as_bytes()));
        self.previous.clone()
    }

    /// Whether `given` is the signature of the trailer, its headers as sent (`name:value\n`
    /// each).
    pub fn check_trailer(&mut self, trailer: &[u8], given: &str) -> bool {
        let to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}",
            self.date_scope,
            self.previous,
            sha256_hex(trailer)
        );
        self.advance(&to_sign, given)
    }

    fn advance(&mut self, to_sign: &str, given: &str) -> bool {
        let expected = hex(&hmac(&self.key, to_sign.as_bytes()));
        let ok = bool::from(expected.as_bytes().ct_eq(given.to_ascii_lowercase().as_bytes()));
        self.previous = expected;
        ok
    }
}

/// Verifies `sig` on `req` with `secret`: the signature must match (time is checked apart,
/// with [`check_time`]). A mismatch's message carries the canonical request and string to
/// sign the server computed, as AWS's does, so a client's author can compare them.
pub fn verify(req: &RequestParts<'_>, sig: &Signature, secret: &str, payload_hash: &str) -> Result<(), SigError> {
    let canonical = canonical_request(req, sig, payload_hash);
    let to_sign = string_to_sign(sig, &canonical);
    let expected = signature_for(secret, &sig.scope, &to_sign);
    let given = sig.signature.to_ascii_lowercase();
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(SigError::Invalid(format!(
            "{MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
        )))
    }
}

/// Verifies `sig` on `req` and its `body` with `secret`, working out the payload hash: a
/// presigned request verifies with `UNSIGNED-PAYLOAD` or with its body's hash.
pub fn verify_request(req: &RequestParts<'_>, sig: &Signature, secret: &str, body: &[u8]) -> Result<(), SigError> {
    let hash = payload_hash(req, sig, || sha256_hex(body));
    let first = verify(req, sig, secret, &hash);
    if first.is_err() && sig.presigned && hash == UNSIGNED_PAYLOAD {
        return verify(req, sig, secret, &sha256_hex(body));
    }
    first
}

/// Signs a request with an Authorization header (for Rheo's own clients, e.g. the benchmark):
/// returns the header's value. `req.headers` must hold every header in `signed`.
pub fn authorization(
    req: &RequestParts<'_>,
    scope: &Scope,
    secret: &str,
    amz_date: &str,
    signed: &[&str],
    payload_hash: &str,
) -> String {
    let sig = Signature {
        scope: scope.clone(),
        signed_headers: signed.iter().map(|h| h.to_ascii_lowercase()).collect(),
        signature: String::new(),
        amz_date: amz_date.to_owned(),
        presigned: false,
        expires_s: None,
    };
    let canonical = canonical_request(req, &sig, payload_hash);
    let signature = signature_for(secret, scope, &string_to_sign(&sig, &canonical));
    format!(
        "{ALGORITHM} Credential={}/{}/{}/{}/aws4_request, SignedHeaders={}, Signature={signature}",
        scope.access_key,
        scope.date,
        scope.region,
        scope.service,
        sig.signed_headers.join(";")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// A signed request from the suite: method, path, query, headers and body.
    struct Parsed {
        method: String,
        path: String,
        query: Option<String>,
        headers: Vec<(String, String)>,
        body: String,
    }

    fn parse_request(text: &str) -> Parsed {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let request_line = lines.next().unwrap();
        let (method, rest) = request_line.split_once(' ').unwrap();
        let target = rest.rsplit_once(' ').unwrap().0;
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_owned(), v.to_owned())
            })
            .collect();
        Parsed {
            method: method.to_owned(),
            path,
            query,
            headers,
            body: body.to_owned(),
        }
    }

    fn suite_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-suite")
    }

    /// The suite's time for a case (all use 2015-08-30T12:36:00Z).
    fn suite_now(case: &std::path::Path) -> i64 {
        let context = std::fs::read_to_string(case.join("context.json")).unwrap();
        assert!(context.contains("2015-08-30T12:36:00Z"));
        parse_amz_date("20150830T123600Z").unwrap()
    }

    fn check(p: &Parsed, now: i64) -> Result<Signature, SigError> {
        let headers: Vec<(&str, &str)> = p.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let req = RequestParts {
            method: &p.method,
            path: &p.path,
            query: p.query.as_deref(),
            headers: &headers,
        };
        let sig = parse(&req)?;
        check_time(&sig, now)?;
        verify_request(&req, &sig, SECRET, p.body.as_bytes())?;
        Ok(sig)
    }

    /// S3's documented example of a chunked upload ("Signature Calculations for the
    /// Authorization Header: Transferring Payload in Multiple Chunks"): 66,560 bytes of `a` in
    /// chunks of 65,536 and 1,024 and the final empty chunk.
    #[test]
    fn chunk_signatures_chain_as_s3_documents() {
        let sig = Signature {
            scope: Scope {
                access_key: "AKIAIOSFODNN7EXAMPLE".into(),
                date: "20130524".into(),
                region: "us-east-1".into(),
                service: "s3".into(),
            },
            signed_headers: vec![],
            signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".into(),
            amz_date: "20130524T000000Z".into(),
            presigned: false,
            expires_s: None,
        };
        let mut chain = ChunkSigner::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &sig);
        let a = |n: usize| Sha256::digest(vec![b'a'; n]);
        assert!(chain.check_chunk(
            &a(65536),
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        ));
        assert!(chain.check_chunk(
            &a(1024),
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        ));
        let mut wrong = chain.clone();
        assert!(!wrong.check_chunk(
            &a(0),
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        ));
        assert!(chain.check_chunk(
            &a(0),
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        ));
    }

    #[test]
    fn s3_paths_are_encoded_once_and_not_normalised() {
        assert_eq!(canonical_path("/b/a%20b//c/../d+e", true), "/b/a%20b//c/../d%2Be");
        assert_eq!(canonical_path("/b/caf%C3%A9", true), "/b/caf%C3%A9");
        assert_eq!(canonical_path("/b/a%20b//c/../d", false), "/b/a%2520b/d");
    }

    #[test]
    fn the_aws_signing_suite_verifies() {
        let mut cases = 0;
        for entry in std::fs::read_dir(suite_dir()).unwrap() {
            let case = entry.unwrap().path();
            if !case.is_dir() {
                continue;
            }
            let now = suite_now(&case);
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let signed = parse_request(&std::fs::read_to_string(case.join("header-signed-request.txt")).unwrap());
            let sig = check(&signed, now).unwrap_or_else(|e| panic!("{name} (header): {e:?}"));
            // Our canonical request is the suite's.
            let headers: Vec<(&str, &str)> = signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let req = RequestParts {
                method: &signed.method,
                path: &signed.path,
                query: signed.query.as_deref(),
                headers: &headers,
            };
            let hash = payload_hash(&req, &sig, || sha256_hex(signed.body.as_bytes()));
            let expected = std::fs::read_to_string(case.join("header-canonical-request.txt")).unwrap();
            assert_eq!(canonical_request(&req, &sig, &hash), expected, "{name}");
            // A changed body or header no longer verifies.
            let mut tampered = signed;
            tampered.body.push('x');
            if let Some(h) = tampered
                .headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            {
                h.1.push('x');
            }
            let e = check(&tampered, now).unwrap_err();
            assert!(
                matches!(&e, SigError::Invalid(m) if m.starts_with(MISMATCH)),
                "{name}: {e:?}"
            );
            if let Ok(text) = std::fs::read_to_string(case.join("query-signed-request.txt")) {
                let presigned = parse_request(&text);
                let sig = check(&presigned, now).unwrap_or_else(|e| panic!("{name} (query): {e:?}"));
                assert!(sig.presigned);
            }
            cases += 1;
        }
        assert!(cases >= 25, "{cases} cases");
    }

    #[test]
    fn missing_and_incomplete_signatures_get_aws_errors() {
        let req = |headers: &[(&'static str, &'static str)]| -> Result<Signature, SigError> {
            let headers = headers.to_vec();
            parse(&RequestParts {
                method: "POST",
                path: "/",
                query: None,
                headers: &headers,
            })
        };
        assert_eq!(req(&[("host", "h")]), Err(SigError::Missing));
        let e = req(&[("authorization", "AWS4-HMAC-SHA256 Signature=ab")]).unwrap_err();
        assert_eq!(e.name(), "IncompleteSignatureException");
        let m = e.message();
        assert!(
            m.contains("requires 'Credential' parameter") && m.contains("'X-Amz-Date'"),
            "{m}"
        );
        let e = req(&[
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=ab",
            ),
            ("x-amz-date", "20150831T000000Z"),
        ])
        .unwrap_err();
        assert_eq!(e.name(), "InvalidSignatureException");
        let e = req(&[
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AK/2015/us-east-1, SignedHeaders=host, Signature=ab",
            ),
            ("x-amz-date", "20150830T000000Z"),
        ])
        .unwrap_err();
        assert_eq!(e.name(), "IncompleteSignatureException");
        assert_eq!(
            req(&[("authorization", "Basic Zm9v")]).unwrap_err().name(),
            "IncompleteSignatureException"
        );
    }

    #[test]
    fn the_clock_skew_window_is_five_minutes() {
        let sig = Signature {
            scope: Scope {
                access_key: "AK".into(),
                date: "20150830".into(),
                region: "us-east-1".into(),
                service: "kinesis".into(),
            },
            signed_headers: vec!["host".into()],
            signature: "00".into(),
            amz_date: "20150830T123600Z".into(),
            presigned: false,
            expires_s: None,
        };
        let at = parse_amz_date("20150830T123600Z").unwrap();
        assert!(check_time(&sig, at + MAX_SKEW_MS).is_ok());
        assert!(check_time(&sig, at - MAX_SKEW_MS).is_ok());
        assert_eq!(
            check_time(&sig, at + MAX_SKEW_MS + 1000).unwrap_err().message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)"
        );
        assert!(
            check_time(&sig, at - MAX_SKEW_MS - 1000)
                .unwrap_err()
                .message()
                .starts_with("Signature not yet current: 20150830T123600Z is still later than")
        );
    }

    #[test]
    fn dates_round_trip() {
        for s in [
            "19700101T000000Z",
            "20150830T123600Z",
            "20240229T235959Z",
            "20261124T011500Z",
        ] {
            assert_eq!(format_amz_date(parse_amz_date(s).unwrap()), s);
        }
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160_000));
        for bad in [
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150830T123600",
            "2015083xT123600Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    proptest! {
        /// Requests signed by the AWS SDK's signer (aws-sigv4) verify here, and fail with
        /// another secret or a changed body.
        #[test]
        fn what_the_sdk_signs_verifies(
            body in proptest::collection::vec(any::<u8>(), 0..2048),
            target in "[A-Za-z]{1,20}",
            secret in "[A-Za-z0-9/+]{40}",
            query in proptest::option::of(("[a-z]{1,5}", proptest::collection::vec(
                prop_oneof!["[A-Za-z0-9._~-]", Just("%20".to_owned()), Just("%2B".to_owned()), Just("+".to_owned()), Just("%2F".to_owned())],
                0..6,
            ))),
            at in 1_000_000_000_000i64..4_000_000_000_000,
            presign in any::<bool>(),
        ) {
            use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
            use aws_sigv4::sign::v4::SigningParams;
            let identity = aws_credential_types::Credentials::new("AKIDTEST", secret.clone(), None, None, "t").into();
            let mut settings = SigningSettings::default();
            if presign {
                settings.signature_location = SignatureLocation::QueryParams;
                settings.expires_in = Some(std::time::Duration::from_secs(300));
            }
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at as u64);
            let params = SigningParams::builder()
                .identity(&identity)
                .region("eu-west-1")
                .name("kinesis")
                .time(time)
                .settings(settings)
                .build()
                .unwrap()
                .into();
            let uri = match &query {
                Some((k, v)) => format!("https://localhost:4567/?{k}={}", v.concat()),
                None => "https://localhost:4567/".to_owned(),
            };
            let target_header = format!("Kinesis_20131202.{target}");
            let headers = [
                ("host", "localhost:4567"),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", target_header.as_str()),
            ];
            let signable_body = if presign { SignableBody::UnsignedPayload } else { SignableBody::Bytes(&body) };
            let signable = SignableRequest::new("POST", &uri, headers.iter().copied(), signable_body).unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            let mut req = http::Request::builder().method("POST").uri(&uri);
            for (n, v) in headers {
                req = req.header(n, v);
            }
            let mut req = req.body(()).unwrap();
            instructions.apply_to_request_http1x(&mut req);
            let header_pairs: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            let headers: Vec<(&str, &str)> = header_pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let parts = RequestParts { method: "POST", path: req.uri().path(), query: req.uri().query(), headers: &headers };
            let sig = parse(&parts).unwrap();
            prop_assert_eq!(sig.presigned, presign);
            prop_assert_eq!(&sig.scope.region, "eu-west-1");
            check_time(&sig, at).unwrap();
            let hash = payload_hash(&parts, &sig, || sha256_hex(&body));
            prop_assert_eq!(verify(&parts, &sig, &secret, &hash), Ok(()));
            prop_assert!(verify(&parts, &sig, "another-secret", &hash).is_err());
            if !presign {
                let mut changed = body.clone();
                changed.push(1);
                let other = payload_hash(&parts, &sig, || sha256_hex(&changed));
                prop_assert!(verify(&parts, &sig, &secret, &other).is_err());
            }
        }

        #[test]
        fn arbitrary_authorization_headers_never_panic(auth in "\\PC{0,200}", date in "\\PC{0,20}") {
            let headers = [("authorization", auth.as_str()), ("x-amz-date", date.as_str())];
            let _ = parse(&RequestParts { method: "POST", path: "/", query: None, headers: &headers });
        }

        #[test]
        fn arbitrary_queries_never_panic(query in "[A-Za-z%=&0-9-]{0,200}") {
            let _ = parse(&RequestParts { method: "GET", path: "/", query: Some(&query), headers: &[] });
        }

        /// Presigned queries whose every parameter is arbitrary text (multibyte characters
        /// included), sent raw or percent-encoded, through parsing, the time check and
        /// verification.
        #[test]
        fn arbitrary_presigned_queries_never_panic(
            values in proptest::collection::vec("\\PC{0,24}", 6),
            dated in "[0-9]{0,3}\\PC[0-9]{0,4}T[0-9\\PC]{0,6}Z",
            encode in any::<bool>(),
            now in any::<i64>(),
        ) {
            let enc = |v: &str| if encode { uri_encode(v) } else { v.to_owned() };
            let names = ["X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires", "X-Amz-Content-Sha256", "X-Amz-Security-Token"];
            let mut query = format!("X-Amz-Algorithm={ALGORITHM}&X-Amz-Date={}", enc(&dated));
            for (n, v) in names.iter().zip(&values) {
                query.push_str(&format!("&{n}={}", enc(v)));
            }
            let headers = [("host", "localhost")];
            let req = RequestParts { method: "POST", path: "/", query: Some(&query), headers: &headers };
            if let Ok(sig) = parse(&req) {
                let _ = check_time(&sig, now);
                let _ = verify_request(&req, &sig, "secret", b"{}");
            }
        }
    }

    #[test]
    fn a_multibyte_date_is_refused_not_a_panic() {
        // 16 bytes, 'T' at byte 8, 'Z' at byte 15, and 'é' across bytes 3 and 4.
        let date = "201\u{e9}083T123456Z";
        assert_eq!(date.len(), 16);
        assert_eq!(parse_amz_date(date), None);
        let query = format!(
            "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fkinesis%2Faws4_request&X-Amz-Date={}&X-Amz-SignedHeaders=host&X-Amz-Signature=abcd",
            uri_encode(date)
        );
        let e = parse(&RequestParts {
            method: "POST",
            path: "/",
            query: Some(&query),
            headers: &[],
        })
        .unwrap_err();
        assert_eq!(e.name(), "IncompleteSignatureException");
    }
}
