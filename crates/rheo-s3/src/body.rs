//! A request body as S3 checks it, while it streams: decoded from `aws-chunked` (each chunk's
//! signature verified when signed), its SHA-256 compared with a signed `x-amz-content-sha256`,
//! its length with the declared one, and its checksum (`x-amz-checksum-*`, as a header or in
//! the trailer) computed and compared. Any failure ends the stream with a [`BodyError`], the
//! S3 error the request gets; what consumes the body keeps what it read provisional until the
//! stream ends cleanly.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use rheo_wire::aws_chunked::{ChunkError, ChunkedDecoder};
use s3s::checksum::ChecksumHasher;
use s3s::crypto::Checksum as _;
use sha2::Digest as _;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Why a body is refused, as S3 names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for BodyError {}

fn err(code: &'static str, message: impl Into<String>) -> BodyError {
    BodyError {
        code,
        message: message.into(),
    }
}

/// How the payload is encoded.
pub enum Encoding {
    /// The bytes as sent; with the SHA-256 the signature covers, when it covers one.
    Plain { sha256: Option<[u8; 32]> },
    /// `aws-chunked`.
    Chunked(Box<ChunkedDecoder>),
}

/// The checksum algorithms S3 takes, by their header suffix.
pub const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/// The checksum a body is checked against.
#[derive(Debug, Clone, Default)]
pub struct ChecksumSpec {
    /// The algorithm (`crc32`, ...), when the request names one.
    pub algorithm: Option<String>,
    /// The value given in a header (base64); none when it comes in the trailer or is to be
    /// computed.
    pub value: Option<String>,
}

/// What a checked body leaves behind for the handler: the checksum verified (algorithm,
/// base64), set when the stream ends cleanly.
pub type Verified = Arc<Mutex<Option<(String, String)>>>;

/// The body, checked.
pub struct CheckedBody<B> {
    inner: B,
    encoding: Encoding,
    hash: Option<sha2::Sha256>,
    declared_len: Option<u64>,
    seen: u64,
    checksum: Option<(String, Option<String>, ChecksumHasher)>,
    verified: Verified,
    out: VecDeque<Bytes>,
    failed: bool,
    ended: bool,
}

impl<B> CheckedBody<B> {
    /// `declared_len`: the payload's length (Content-Length, or `x-amz-decoded-content-length`
    /// for aws-chunked), which the bytes must match.
    pub fn new(
        inner: B,
        encoding: Encoding,
        declared_len: Option<u64>,
        spec: ChecksumSpec,
        verified: Verified,
    ) -> Self {
        let hash = matches!(encoding, Encoding::Plain { sha256: Some(_) }).then(sha2::Sha256::new);
        let checksum = spec.algorithm.and_then(|a| {
            let mut h = ChecksumHasher::default();
            match a.as_str() {
                "crc32" => h.crc32 = Some(s3s::crypto::Crc32::new()),
                "crc32c" => h.crc32c = Some(s3s::crypto::Crc32c::new()),
                "crc64nvme" => h.crc64nvme = Some(s3s::crypto::Crc64Nvme::new()),
                "sha1" => h.sha1 = Some(s3s::crypto::Sha1::new()),
                "sha256" => h.sha256 = Some(s3s::crypto::Sha256::new()),
                _ => return None,
            }
            Some((a, spec.value, h))
        });
        CheckedBody {
            inner,
            encoding,
            hash,
            declared_len,
            seen: 0,
            checksum,
            verified,
            out: VecDeque::new(),
            failed: false,
            ended: false,
        }
    }

    fn take(&mut self, piece: Bytes) -> Result<(), BodyError> {
        self.seen = self.seen.saturating_add(piece.len() as u64);
        if self.declared_len.is_some_and(|n| self.seen > n) {
            return Err(err(
                "IncompleteBody",
                "The request body is longer than its declared length.",
            ));
        }
        if let Some(h) = &mut self.hash {
            h.update(&piece);
        }
        if let Some((_, _, h)) = &mut self.checksum {
            h.update(&piece);
        }
        self.out.push_back(piece);
        Ok(())
    }

    fn on_data(&mut self, data: Bytes) -> Result<(), BodyError> {
        match &mut self.encoding {
            Encoding::Plain { .. } => self.take(data),
            Encoding::Chunked(d) => {
                let mut pieces = Vec::new();
                d.feed(data, &mut pieces).map_err(|e| match e {
                    ChunkError::SignatureMismatch => err(
                        "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                    ),
                    ChunkError::Malformed(m) => err("IncompleteBody", format!("The aws-chunked body is malformed: {m}.")),
                })?;
                pieces.into_iter().try_for_each(|p| self.take(p))
            }
        }
    }

    fn on_end(&mut self) -> Result<(), BodyError> {
        if self.declared_len.is_some_and(|n| self.seen != n) {
            return Err(err(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ));
        }
        let mut trailers: Vec<(String, String)> = Vec::new();
        match &self.encoding {
            Encoding::Plain { sha256: Some(want) } => {
                let got = self.hash.take().map(|h| h.finalize());
                if got.as_deref() != Some(&want[..]) {
                    return Err(err(
                        "XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    ));
                }
            }
            Encoding::Plain { sha256: None } => {}
            Encoding::Chunked(d) => {
                if !d.is_done() {
                    return Err(err(
                        "IncompleteBody",
                        "The aws-chunked body ended before its final chunk.",
                    ));
                }
                trailers = d.trailers().to_vec();
            }
        }
        if let Some((alg, given, h)) = self.checksum.take() {
            let sums = h.finalize();
            let got = match alg.as_str() {
                "crc32" => sums.checksum_crc32,
                "crc32c" => sums.checksum_crc32c,
                "crc64nvme" => sums.checksum_crc64nvme,
                "sha1" => sums.checksum_sha1,
                _ => sums.checksum_sha256,
            }
            .unwrap_or_default();
            let header = format!("x-amz-checksum-{alg}");
            let given = given.or_else(|| trailers.iter().find(|(n, _)| *n == header).map(|(_, v)| v.clone()));
            if let Some(given) = given
                && given != got
            {
                return Err(err(
                    "BadDigest",
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        alg.to_uppercase()
                    ),
                ));
            }
            *self.verified.lock().unwrap_or_else(|p| p.into_inner()) = Some((alg, got));
        }
        Ok(())
    }
}

impl<B> Body for CheckedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            if let Some(b) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(b))));
            }
            if this.failed || this.ended {
                return Poll::Ready(None);
            }
            let step = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.on_data(data),
                    Err(_) => Ok(()),
                },
                Poll::Ready(Some(Err(e))) => Err(err(
                    "IncompleteBody",
                    format!("The request body could not be read: {e}"),
                )),
                Poll::Ready(None) => {
                    this.ended = true;
                    this.on_end()
                }
            };
            if let Err(e) = step {
                this.failed = true;
                this.out.clear();
                return Poll::Ready(Some(Err(e)));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        (self.failed || self.ended) && self.out.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
