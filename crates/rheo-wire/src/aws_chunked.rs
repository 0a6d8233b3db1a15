//! The `aws-chunked` content encoding of S3 uploads, decoded as it streams: no chunk is held
//! whole, whatever size it declares.
//!
//! ```text
//! <hex size>[;chunk-signature=<sig>]\r\n<size bytes>\r\n   ... repeated ...
//! 0[;chunk-signature=<sig>]\r\n
//! [<trailer name>:<value>\r\n ...][x-amz-trailer-signature:<sig>\r\n]
//! \r\n
//! ```
//!
//! With a [`ChunkSigner`] (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`), every chunk's
//! signature is checked when the chunk ends and the trailer's when it ends; a chunk's bytes
//! are handed on before its signature is known, so the consumer must keep what it received
//! provisional until [`ChunkedDecoder::is_done`].

use crate::sigv4::ChunkSigner;
use bytes::{Buf, Bytes};
use sha2::{Digest, Sha256};

/// The longest chunk header or trailer line accepted.
const MAX_LINE: usize = 4096;
/// The most trailer bytes accepted.
const MAX_TRAILER: usize = 16 * 1024;

/// Why a body does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// Not `aws-chunked` as specified (the text says where).
    Malformed(&'static str),
    /// A chunk's or the trailer's signature does not verify.
    SignatureMismatch,
}

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkError::Malformed(m) => write!(f, "malformed aws-chunked body: {m}"),
            ChunkError::SignatureMismatch => f.write_str("a chunk signature does not match"),
        }
    }
}

impl std::error::Error for ChunkError {}

#[derive(Debug)]
enum State {
    Header,
    Data { left: u64, signature: Option<String> },
    DataEnd,
    Trailer,
    Done,
}

/// Decodes one body; feed it the bytes as they arrive.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    signer: Option<ChunkSigner>,
    hash: Sha256,
    line: Vec<u8>,
    /// The trailer as signed: `name:value\n` per header.
    trailer_signed: Vec<u8>,
    trailers: Vec<(String, String)>,
    trailer_signature: Option<String>,
    decoded: u64,
}

impl ChunkedDecoder {
    pub fn new(signer: Option<ChunkSigner>) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Header,
            signer,
            hash: Sha256::new(),
            line: Vec::new(),
            trailer_signed: Vec::new(),
            trailers: Vec::new(),
            trailer_signature: None,
            decoded: 0,
        }
    }

    /// Whether the whole body, trailer included, has been read and verified.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The payload bytes decoded so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded
    }

    /// The trailer's headers (names lowercased), once done.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Decodes what `input` holds, pushing payload bytes to `out`. Bytes after the body's end
    /// are an error.
    pub fn feed(&mut self, mut input: Bytes, out: &mut Vec<Bytes>) -> Result<(), ChunkError> {
        while input.has_remaining() {
            match &mut self.state {
                State::Header | State::Trailer | State::DataEnd => {
                    let Some(line) = self.take_line(&mut input)? else {
                        return Ok(());
                    };
                    self.on_line(&line)?;
                }
                State::Data { left, .. } => {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(input.remaining());
                    let piece = input.split_to(n);
                    *left = left.saturating_sub(n as u64);
                    self.decoded = self.decoded.saturating_add(n as u64);
                    if self.signer.is_some() {
                        self.hash.update(&piece);
                    }
                    out.push(piece);
                    if let State::Data { left: 0, signature } = &mut self.state {
                        let signature = signature.take();
                        self.end_chunk(signature)?;
                        self.state = State::DataEnd;
                    }
                }
                State::Done => return Err(ChunkError::Malformed("bytes after the final chunk")),
            }
        }
        Ok(())
    }

    /// Takes a line ending in CRLF (without it), or keeps a partial one for the next feed.
    fn take_line(&mut self, input: &mut Bytes) -> Result<Option<Vec<u8>>, ChunkError> {
        match memchr_nl(input) {
            Some(i) => {
                let part = input.split_to(i.saturating_add(1));
                self.line.extend_from_slice(&part);
                let mut line = std::mem::take(&mut self.line);
                if line.len() > MAX_LINE {
                    return Err(ChunkError::Malformed("a line is too long"));
                }
                line.pop();
                if line.pop() != Some(b'\r') {
                    return Err(ChunkError::Malformed("a line does not end in CRLF"));
                }
                Ok(Some(line))
            }
            None => {
                self.line.extend_from_slice(input);
                input.advance(input.remaining());
                if self.line.len() > MAX_LINE {
                    return Err(ChunkError::Malformed("a line is too long"));
                }
                Ok(None)
            }
        }
    }

    fn on_line(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        match self.state {
            State::DataEnd => {
                if !line.is_empty() {
                    return Err(ChunkError::Malformed("a chunk is longer than its size"));
                }
                self.state = State::Header;
            }
            State::Header => {
                let text =
                    std::str::from_utf8(line).map_err(|_| ChunkError::Malformed("a chunk header is not text"))?;
                let (size, ext) = text.split_once(';').unwrap_or((text, ""));
                let size = u64::from_str_radix(size.trim(), 16)
                    .map_err(|_| ChunkError::Malformed("a chunk size is not hexadecimal"))?;
                let signature = ext
                    .split(';')
                    .find_map(|e| e.trim().strip_prefix("chunk-signature="))
                    .map(str::to_owned);
                if self.signer.is_some() && signature.is_none() {
                    return Err(ChunkError::Malformed("a chunk has no chunk-signature"));
                }
                if size == 0 {
                    self.end_chunk(signature)?;
                    self.state = State::Trailer;
                } else {
                    self.state = State::Data { left: size, signature };
                }
            }
            State::Trailer => {
                if line.is_empty() {
                    return self.finish();
                }
                let text = std::str::from_utf8(line).map_err(|_| ChunkError::Malformed("a trailer is not text"))?;
                let (name, value) = text
                    .split_once(':')
                    .ok_or(ChunkError::Malformed("a trailer line has no ':'"))?;
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
                if name == "x-amz-trailer-signature" {
                    self.trailer_signature = Some(value);
                } else {
                    self.trailer_signed
                        .extend_from_slice(format!("{name}:{value}\n").as_bytes());
                    if self.trailer_signed.len() > MAX_TRAILER {
                        return Err(ChunkError::Malformed("the trailer is too long"));
                    }
                    self.trailers.push((name, value));
                }
            }
            State::Data { .. } | State::Done => {}
        }
        Ok(())
    }

    fn end_chunk(&mut self, signature: Option<String>) -> Result<(), ChunkError> {
        let hash = std::mem::take(&mut self.hash).finalize();
        if let (Some(signer), Some(given)) = (&mut self.signer, signature)
            && !signer.check_chunk(&hash, &given)
        {
            return Err(ChunkError::SignatureMismatch);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ChunkError> {
        if let Some(signer) = &mut self.signer
            && !self.trailers.is_empty()
        {
            let given = self
                .trailer_signature
                .as_deref()
                .ok_or(ChunkError::Malformed("a signed trailer has no x-amz-trailer-signature"))?;
            if !signer.check_trailer(&self.trailer_signed, given) {
                return Err(ChunkError::SignatureMismatch);
            }
        }
        self.state = State::Done;
        Ok(())
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(chunks: &[&[u8]], trailer: Option<(&str, &str)>) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n");
        if let Some((n, v)) = trailer {
            out.extend_from_slice(format!("{n}:{v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn decode(body: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, ChunkedDecoder), ChunkError> {
        let mut d = ChunkedDecoder::new(None);
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&body.len())) {
            let c = c.clamp(at, body.len());
            d.feed(Bytes::copy_from_slice(&body[at..c]), &mut out)?;
            at = c;
        }
        Ok((out.concat(), d))
    }

    #[test]
    fn unsigned_trailers_are_read() {
        let body = encode(&[b"hello ", b"world"], Some(("x-amz-checksum-crc32", "DUoRhQ==")));
        let (data, d) = decode(&body, &[]).unwrap();
        assert_eq!(data, b"hello world");
        assert!(d.is_done());
        assert_eq!(
            d.trailers(),
            &[("x-amz-checksum-crc32".to_owned(), "DUoRhQ==".to_owned())]
        );
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for bad in [&b"zz\r\n"[..], b"3\r\nabcd\r\n", b"3\nabc", b"0\r\n\r\nmore"] {
            let r = decode(bad, &[]);
            assert!(matches!(r, Err(ChunkError::Malformed(_))), "{bad:?}: {r:?}");
        }
        let (_, d) = decode(b"3\r\nabc\r\n", &[]).unwrap();
        assert!(!d.is_done(), "a body cut short is not done");
    }

    proptest! {
        #[test]
        fn any_split_decodes_the_same(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 0..6), cuts in prop::collection::vec(0usize..2000, 0..8)) {
            let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
            let body = encode(&refs, None);
            let mut cuts = cuts;
            cuts.sort_unstable();
            let (data, d) = decode(&body, &cuts).unwrap();
            prop_assert_eq!(data, chunks.concat());
            prop_assert!(d.is_done());
        }

        #[test]
        fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes, &[7, 30]);
        }
    }
}
