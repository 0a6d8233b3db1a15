//! The queues' journal: every change to a message, in one segmented log per tenant
//! (`rheo-log`, in `<data>/sqs/journal/`), appended by one writer thread with group commit.
//!
//! # Records
//!
//! Each log frame's key is the record's journal position (strictly increasing), its timestamp
//! the time it was written, its partition key empty, and its data one record:
//!
//! ```text
//! u8 kind, then
//!   1 Put        u64 queue, message (below): a message's whole state (a send, a dead
//!                letter arriving, or a copy made by compaction)
//!   2 Seen       u64 queue, u64 message, i64 visible_at_ms, u32 receive_count,
//!                opt i64 first_receive_ms: a receive or a visibility change
//!   3 Delete     u64 queue, u64 message
//!   4 Purge      u64 queue, u64 below: every message numbered below `below` is gone
//!   5 Dedup      u64 queue, str key, str message_id, opt u128 sequence, i64 expires_ms: a
//!                FIFO deduplication entry outliving its message (written by compaction)
//!   6 Cursor     u64 queue, u32 shard, u64 next: a Kinesis queue has taken every record of
//!                the stream's shard `shard` before position `next` (written after the Puts
//!                of those records, so a durable cursor implies durable records)
//! message: u64 no, str id, bytes body, u16 count × (str name, str type, u8 1 string |
//!   2 binary, bytes value), opt str trace_header, i64 sent_ms, i64 visible_at_ms,
//!   u32 receive_count, opt i64 first_receive_ms, opt str group, opt str dedup_id,
//!   opt u128 sequence, opt str dead_letter_source, str sender
//! str, bytes: u32 LE length + bytes; opt: u8 0 (absent) or 1 + the value; integers LE.
//! ```
//!
//! # Rules
//!
//! - A message's number is the key of the record that first stored it: unique, increasing in
//!   send order, never reused (the log's keys never go back, even after trimming).
//! - Records about a queue or message that replay does not know (deleted, or compacted away
//!   before them) are ignored; queues are named by their incarnation id, never reused.
//! - A change is made in memory and its record queued while the queue's lock is held, so the
//!   journal's order is each queue's order; a response waits until the batch holding its
//!   records is durable. Anything a response showed was therefore written before it.
//! - Compaction copies the live state held in the oldest segment (Put, Dedup) to the end,
//!   waits for it to be durable, then deletes the segment.

use crate::message::{AttributeValue, Message, MessageAttribute};
use bytes::Bytes;
use rheo_log::{LogReader, LogWriter, NewRecord};
use std::sync::{Arc, Condvar, Mutex};
use tokio::sync::oneshot;

#[derive(Debug, Clone)]
pub enum Record {
    Put {
        queue: u64,
        message: Message,
    },
    Seen {
        queue: u64,
        no: u64,
        visible_at_ms: i64,
        receive_count: u32,
        first_receive_ms: Option<i64>,
    },
    Delete {
        queue: u64,
        no: u64,
    },
    Purge {
        queue: u64,
        below: u64,
    },
    Dedup {
        queue: u64,
        key: String,
        message_id: String,
        sequence: Option<u128>,
        expires_ms: i64,
    },
    Cursor {
        queue: u64,
        shard: u32,
        next: u64,
    },
}

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn opt<T>(&mut self, v: &Option<T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
}

struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => f(self).map(Some),
            _ => None,
        }
    }
}

fn put_message(o: &mut Out, m: &Message) {
    o.u64(m.no);
    o.bytes(m.id.as_bytes());
    o.bytes(&m.body);
    o.u16(m.attributes.len() as u16);
    for a in &m.attributes {
        o.bytes(a.name.as_bytes());
        o.bytes(a.data_type.as_bytes());
        match &a.value {
            AttributeValue::String(s) => {
                o.u8(1);
                o.bytes(s.as_bytes());
            }
            AttributeValue::Binary(b) => {
                o.u8(2);
                o.bytes(b);
            }
        }
    }
    o.opt(&m.trace_header, |o, s| o.bytes(s.as_bytes()));
    o.i64(m.sent_ms);
    o.i64(m.visible_at_ms);
    o.u32(m.receive_count);
    o.opt(&m.first_receive_ms, |o, v| o.i64(*v));
    o.opt(&m.group, |o, s| o.bytes(s.as_bytes()));
    o.opt(&m.dedup_id, |o, s| o.bytes(s.as_bytes()));
    o.opt(&m.sequence, |o, v| o.u128(*v));
    o.opt(&m.dead_letter_source, |o, s| o.bytes(s.as_bytes()));
    o.bytes(m.sender.as_bytes());
}

fn read_message(i: &mut In<'_>) -> Option<Message> {
    let no = i.u64()?;
    let id = i.string()?;
    let body = Bytes::copy_from_slice(i.bytes()?);
    let n = i.u16()?;
    let mut attributes = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let name = i.string()?;
        let data_type = i.string()?;
        let value = match i.u8()? {
            1 => AttributeValue::String(i.string()?),
            2 => AttributeValue::Binary(Bytes::copy_from_slice(i.bytes()?)),
            _ => return None,
        };
        attributes.push(MessageAttribute { name, data_type, value });
    }
    Some(Message {
        no,
        id,
        body,
        attributes,
        trace_header: i.opt(In::string)?,
        sent_ms: i.i64()?,
        visible_at_ms: i.i64()?,
        receive_count: i.u32()?,
        first_receive_ms: i.opt(In::i64)?,
        group: i.opt(In::string)?,
        dedup_id: i.opt(In::string)?,
        sequence: i.opt(In::u128)?,
        dead_letter_source: i.opt(In::string)?,
        sender: i.string()?,
        journal_key: 0,
    })
}

fn encode_put(queue: u64, message: &Message) -> Vec<u8> {
    let mut o = Out(Vec::with_capacity(64 + message.body.len()));
    o.u8(1);
    o.u64(queue);
    put_message(&mut o, message);
    o.0
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Out(Vec::with_capacity(64));
        match self {
            Record::Put { queue, message } => return encode_put(*queue, message),
            Record::Seen {
                queue,
                no,
                visible_at_ms,
                receive_count,
                first_receive_ms,
            } => {
                o.u8(2);
                o.u64(*queue);
                o.u64(*no);
                o.i64(*visible_at_ms);
                o.u32(*receive_count);
                o.opt(first_receive_ms, |o, v| o.i64(*v));
            }
            Record::Delete { queue, no } => {
                o.u8(3);
                o.u64(*queue);
                o.u64(*no);
            }
            Record::Purge { queue, below } => {
                o.u8(4);
                o.u64(*queue);
                o.u64(*below);
            }
            Record::Dedup {
                queue,
                key,
                message_id,
                sequence,
                expires_ms,
            } => {
                o.u8(5);
                o.u64(*queue);
                o.bytes(key.as_bytes());
                o.bytes(message_id.as_bytes());
                o.opt(sequence, |o, v| o.u128(*v));
                o.i64(*expires_ms);
            }
            Record::Cursor { queue, shard, next } => {
                o.u8(6);
                o.u64(*queue);
                o.u32(*shard);
                o.u64(*next);
            }
        }
        o.0
    }

    /// The record in `data`; `None` if it does not decode (which a CRC-checked frame from
    /// this writer never fails to do).
    pub fn decode(data: &[u8]) -> Option<Record> {
        let mut i = In(data);
        let r = match i.u8()? {
            1 => Record::Put {
                queue: i.u64()?,
                message: read_message(&mut i)?,
            },
            2 => Record::Seen {
                queue: i.u64()?,
                no: i.u64()?,
                visible_at_ms: i.i64()?,
                receive_count: i.u32()?,
                first_receive_ms: i.opt(In::i64)?,
            },
            3 => Record::Delete {
                queue: i.u64()?,
                no: i.u64()?,
            },
            4 => Record::Purge {
                queue: i.u64()?,
                below: i.u64()?,
            },
            5 => Record::Dedup {
                queue: i.u64()?,
                key: i.string()?,
                message_id: i.string()?,
                sequence: i.opt(In::u128)?,
                expires_ms: i.i64()?,
            },
            6 => Record::Cursor {
                queue: i.u64()?,
                shard: i.u32()?,
                next: i.u64()?,
            },
            _ => return None,
        };
        i.0.is_empty().then_some(r)
    }
}

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Default)]
struct Pending {
    next_key: u64,
    last_ms: i64,
    records: Vec<(u64, i64, Vec<u8>)>,
    waiters: Vec<Waiter>,
    closed: bool,
    /// Set when an append failed: what is in memory may then be ahead of the disk, so every
    /// later commit fails until the service is reopened (and replays the journal).
    failed: Option<String>,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// The journal's handle: queue records, then wait for them to be durable.
#[derive(Clone)]
pub struct Journal {
    shared: Arc<Shared>,
    reader: LogReader,
}

/// Stops the writer thread when the last handle is dropped.
pub struct WriterGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Journal {
    /// Starts the writer thread over an opened log; `next_key` is above every key it holds.
    /// Timestamps never go below `last_ms` (the log's last).
    pub fn start(
        writer: LogWriter,
        reader: LogReader,
        next_key: u64,
        last_ms: i64,
    ) -> std::io::Result<(Journal, WriterGuard)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                next_key,
                last_ms,
                ..Pending::default()
            }),
            wake: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("rheo-sqs-journal".into())
            .spawn(move || write_loop(&thread_shared, writer))?;
        Ok((
            Journal {
                shared: shared.clone(),
                reader,
            },
            WriterGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Queues a record; returns its key. Call while holding the lock of the state it
    /// changes, so the journal's order is the state's.
    pub fn push(&self, record: &Record, now_ms: i64) -> u64 {
        self.enqueue(now_ms, |_| (record.encode(), ())).0
    }

    /// Queues the record `make` builds from its key (a Purge names its bound by it); returns
    /// the key.
    pub fn push_keyed(&self, now_ms: i64, make: impl FnOnce(u64) -> Record) -> u64 {
        self.enqueue(now_ms, |key| (make(key).encode(), ())).0
    }

    /// Queues a Put of the message `make` builds from its key (the key is its number);
    /// returns the message.
    pub fn push_put(&self, queue: u64, now_ms: i64, make: impl FnOnce(u64) -> Message) -> Message {
        self.enqueue(now_ms, |key| {
            let message = make(key);
            (encode_put(queue, &message), message)
        })
        .1
    }

    /// Takes the next key, and queues the bytes `make` builds from it with a timestamp that
    /// never goes back.
    fn enqueue<T>(&self, now_ms: i64, make: impl FnOnce(u64) -> (Vec<u8>, T)) -> (u64, T) {
        let mut p = self.shared.lock();
        let key = p.next_key;
        let (data, out) = make(key);
        p.next_key += 1;
        p.last_ms = p.last_ms.max(now_ms);
        let ts = p.last_ms;
        p.records.push((key, ts, data));
        (key, out)
    }

    /// Waits until every record queued before this call is durable.
    pub async fn commit(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        {
            let mut p = self.shared.lock();
            if p.closed {
                return Err("the journal is closed".into());
            }
            if let Some(e) = &p.failed {
                return Err(format!(
                    "an earlier journal write failed ({e}); restart the server to recover"
                ));
            }
            p.waiters.push(tx);
        }
        self.shared.wake.notify_one();
        rx.await.unwrap_or_else(|_| Err("the journal writer stopped".into()))
    }

    pub fn reader(&self) -> &LogReader {
        &self.reader
    }
}

fn write_loop(shared: &Shared, mut writer: LogWriter) {
    loop {
        let (records, waiters) = {
            let mut p = shared.lock();
            while p.records.is_empty() && p.waiters.is_empty() && !p.closed {
                p = shared.wake.wait(p).unwrap_or_else(|e| e.into_inner());
            }
            if p.closed && p.records.is_empty() && p.waiters.is_empty() {
                return;
            }
            (std::mem::take(&mut p.records), std::mem::take(&mut p.waiters))
        };
        let failed = shared.lock().failed.clone();
        let result = if let Some(e) = failed {
            Err(e)
        } else if records.is_empty() {
            Ok(())
        } else {
            let batch: Vec<NewRecord<'_>> = records
                .iter()
                .map(|(key, ts, data)| NewRecord {
                    key: *key,
                    timestamp_ms: *ts,
                    partition_key: b"",
                    data,
                })
                .collect();
            writer.append(&batch).map_err(|e| {
                tracing::error!(error = %e, "writing the queues' journal failed; queues refuse changes until a restart");
                e.to_string()
            })
        };
        if let Err(e) = &result {
            shared.lock().failed.get_or_insert_with(|| e.clone());
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            no: 7,
            id: "id".into(),
            body: Bytes::from_static(b"hello"),
            attributes: vec![
                MessageAttribute {
                    name: "a".into(),
                    data_type: "String".into(),
                    value: AttributeValue::String("v".into()),
                },
                MessageAttribute {
                    name: "b".into(),
                    data_type: "Binary.x".into(),
                    value: AttributeValue::Binary(Bytes::from_static(&[0, 1, 2])),
                },
            ],
            trace_header: Some("Root=1".into()),
            sent_ms: 10,
            visible_at_ms: 20,
            receive_count: 2,
            first_receive_ms: Some(15),
            group: Some("g".into()),
            dedup_id: None,
            sequence: Some(18_000_000_000_000_000_007),
            dead_letter_source: None,
            sender: "000000000000".into(),
            journal_key: 0,
        }
    }

    #[test]
    fn records_round_trip() {
        let records = [
            Record::Put {
                queue: 3,
                message: message(),
            },
            Record::Seen {
                queue: 3,
                no: 7,
                visible_at_ms: -5,
                receive_count: 1,
                first_receive_ms: None,
            },
            Record::Delete { queue: 3, no: 7 },
            Record::Purge { queue: 3, below: 9 },
            Record::Dedup {
                queue: 3,
                key: "g\0d".into(),
                message_id: "id".into(),
                sequence: None,
                expires_ms: 99,
            },
            Record::Cursor {
                queue: 3,
                shard: 2,
                next: 1 << 40,
            },
        ];
        for r in records {
            let bytes = r.encode();
            let back = Record::decode(&bytes).unwrap();
            assert_eq!(format!("{back:?}"), format!("{r:?}"));
            assert!(Record::decode(&bytes[..bytes.len() - 1]).is_none());
        }
        assert!(Record::decode(&[9]).is_none());
    }
}
