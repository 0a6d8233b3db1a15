//! GetRecords: the request is checked first, so every error is a proper AWS error; then a
//! blocking task reads the log and encodes the response piece by piece while earlier pieces are
//! sent. A response that fits in one piece is sent whole, with Content-Length.

use super::{engine_error, parse};
use crate::body::{Piece, ResponseBody};
use crate::error::ApiError;
use crate::pool;
use bytes::Bytes;
use rheo_engine::Engine;
use rheo_engine::data::{Record, RecordsRead};
use rheo_types::Arn;
use rheo_wire::model::Node;
use rheo_wire::records::{RecordOut, write_prefix, write_record, write_suffix};
use rheo_wire::shapes::{ChildShard, GetRecordsInput, HashKeyRange};
use tokio::sync::mpsc;

/// Encoded bytes per streamed piece.
const PIECE_BYTES: usize = 1024 * 1024;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Result<ResponseBody, ApiError> {
    let input: GetRecordsInput = parse(input)?;
    let stream = input
        .stream_arn
        .as_deref()
        .and_then(|a| Arn::parse(a).ok())
        .map(|a| a.stream);
    let iterator = input.shard_iterator.as_deref().unwrap_or_default();
    let limit = input.limit.map(|l| l as u32);
    let read = engine
        .prepare_get_records(iterator, limit, stream.as_ref())
        .map_err(|e| engine_error(engine, e))?;
    if !read.has_records() {
        // A reader that is caught up (the usual poll of a tailing consumer) is answered at
        // once, without the blocking pool; records that arrive meanwhile are still included.
        let mut pieces = Vec::new();
        encode(read, Vec::with_capacity(1024), Bytes::from, |piece| {
            pieces.push(piece);
            true
        });
        return whole(pieces);
    }
    // Two pieces queued at most: a reader that stops reading holds little (see `pool`).
    let (tx, mut rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        encode(read, pool::take(), pool::freeze, |piece| {
            tx.blocking_send(piece).is_ok()
        })
    });
    match rx.recv().await {
        Some(Piece::Last(whole)) => Ok(ResponseBody::full(whole)),
        Some(Piece::More(first)) => Ok(ResponseBody::Stream {
            first: Some(first),
            rest: rx,
        }),
        Some(Piece::Failed(_)) | None => Err(ApiError::internal()),
    }
}

/// Joins pieces produced in place into one body.
fn whole(mut pieces: Vec<Piece>) -> Result<ResponseBody, ApiError> {
    if let [Piece::Last(_)] = &pieces[..] {
        let Some(Piece::Last(body)) = pieces.pop() else {
            unreachable!()
        };
        return Ok(ResponseBody::full(body));
    }
    let mut body = Vec::new();
    for piece in pieces {
        match piece {
            Piece::More(b) | Piece::Last(b) => body.extend_from_slice(&b),
            Piece::Failed(_) => return Err(ApiError::internal()),
        }
    }
    Ok(ResponseBody::full(body))
}

pub(crate) fn child_out(c: &rheo_engine::ChildShard) -> ChildShard {
    ChildShard {
        shard_id: c.shard_id.to_string(),
        parent_shards: c.parents.iter().map(ToString::to_string).collect(),
        hash_key_range: HashKeyRange {
            starting_hash_key: c.range.start.to_string(),
            ending_hash_key: c.range.end.to_string(),
        },
    }
}

pub(crate) fn record_out(r: Record<'_>) -> RecordOut<'_> {
    RecordOut {
        sequence_number: r.sequence_number,
        arrival_ms: r.arrival_ms,
        partition_key: r.partition_key,
        data: r.data,
    }
}

/// Reads and encodes the response into `buf` (and pool buffers once it is full), handing over
/// a piece (made by `freeze`) whenever one is full. Ends early if `send` returns false (the client
/// went away).
fn encode(read: RecordsRead, mut buf: Vec<u8>, freeze: impl Fn(Vec<u8>) -> Bytes, mut send: impl FnMut(Piece) -> bool) {
    write_prefix(&mut buf);
    let mut first = true;
    let summary = read.run(|r| {
        write_record(&mut buf, &record_out(r), first);
        first = false;
        if buf.len() < PIECE_BYTES {
            return true;
        }
        let piece = std::mem::replace(&mut buf, pool::take());
        send(Piece::More(freeze(piece)))
    });
    let last = match summary {
        Ok(s) => {
            let children: Option<Vec<ChildShard>> = s.child_shards.map(|c| c.iter().map(child_out).collect());
            write_suffix(
                &mut buf,
                s.next_iterator.as_deref(),
                children.as_deref(),
                s.millis_behind_latest,
            );
            Piece::Last(freeze(buf))
        }
        Err(e) => {
            tracing::error!(error = %e, "reading records failed");
            Piece::Failed(std::io::Error::other(e.to_string()))
        }
    };
    send(last);
}
