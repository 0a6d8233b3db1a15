//! Response bodies: a whole buffer (sent with Content-Length), or pieces produced while the
//! response is being sent (chunked), which lets a large GetRecords response be read, encoded and
//! transferred at the same time.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// One piece of a streamed response, from its producer.
pub enum Piece {
    /// More of the body follows.
    More(Bytes),
    /// The end of the body.
    Last(Bytes),
    /// The producer failed part-way: the connection is aborted so the client sees an error
    /// rather than a truncated response.
    Failed(std::io::Error),
}

pub enum ResponseBody {
    Full(Option<Bytes>),
    Stream {
        first: Option<Bytes>,
        rest: mpsc::Receiver<Piece>,
    },
    /// An event stream (`application/vnd.amazon.eventstream`): messages as they are produced,
    /// until the producer drops its sender.
    Events {
        first: Option<Bytes>,
        rest: mpsc::Receiver<Piece>,
    },
    /// An S3 response, as s3s writes it (objects stream from disk).
    S3(s3s::Body),
}

impl ResponseBody {
    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        ResponseBody::Full(Some(bytes.into()))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream { first, rest } | ResponseBody::Events { first, rest } => {
                if let Some(b) = first.take() {
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                rest.poll_recv(cx).map(|piece| match piece? {
                    Piece::More(b) | Piece::Last(b) => Some(Ok(Frame::data(b))),
                    Piece::Failed(e) => Some(Err(e)),
                })
            }
            ResponseBody::S3(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(std::io::Error::other))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::S3(b) => b.is_end_stream(),
            other => matches!(other, ResponseBody::Full(None)),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            ResponseBody::Full(None) => SizeHint::with_exact(0),
            ResponseBody::Stream { .. } | ResponseBody::Events { .. } => SizeHint::default(),
            ResponseBody::S3(b) => b.size_hint(),
        }
    }
}
