//! Functions' logs: the lines their processes print and the START, END and REPORT lines Rheo
//! writes around each invocation, kept per log group (`/aws/lambda/<name>`) and stream
//! (`YYYY/MM/DD/[$LATEST]<instance>`), as CloudWatch Logs holds them.
//!
//! Kept in memory, the newest [`MAX_EVENTS_PER_STREAM`] events of each stream and
//! [`MAX_STREAMS_PER_GROUP`] streams of each group; they do not survive a restart.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

pub const MAX_EVENTS_PER_STREAM: usize = 10_000;
pub const MAX_STREAMS_PER_GROUP: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp_ms: i64,
    pub ingestion_ms: i64,
    pub message: String,
    /// Its number in its group: increasing, never reused (tokens and event ids use it).
    pub id: u64,
}

#[derive(Debug, Default)]
struct Stream {
    events: VecDeque<LogEvent>,
    created_ms: i64,
    last_ms: i64,
}

/// One tenant's log groups. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Logs {
    groups: Arc<Mutex<BTreeMap<String, BTreeMap<String, Stream>>>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

/// A stream's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub name: String,
    pub created_ms: i64,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
}

impl Logs {
    pub fn append(&self, group: &str, stream: &str, now_ms: i64, message: String) {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let streams = groups.entry(group.to_owned()).or_default();
        if !streams.contains_key(stream) && streams.len() >= MAX_STREAMS_PER_GROUP {
            // The stream written to longest ago goes.
            if let Some(oldest) = streams.iter().min_by_key(|(_, s)| s.last_ms).map(|(n, _)| n.clone()) {
                streams.remove(&oldest);
            }
        }
        let s = streams.entry(stream.to_owned()).or_insert_with(|| Stream {
            created_ms: now_ms,
            ..Stream::default()
        });
        if s.events.len() >= MAX_EVENTS_PER_STREAM {
            s.events.pop_front();
        }
        s.last_ms = now_ms;
        s.events.push_back(LogEvent {
            timestamp_ms: now_ms,
            ingestion_ms: now_ms,
            message,
            id: self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        });
    }

    pub fn groups(&self) -> Vec<(String, i64)> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups
            .iter()
            .map(|(n, s)| (n.clone(), s.values().map(|s| s.created_ms).min().unwrap_or(0)))
            .collect()
    }

    pub fn streams(&self, group: &str) -> Option<Vec<StreamInfo>> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let streams = groups.get(group)?;
        Some(
            streams
                .iter()
                .map(|(n, s)| StreamInfo {
                    name: n.clone(),
                    created_ms: s.created_ms,
                    first_event_ms: s.events.front().map(|e| e.timestamp_ms),
                    last_event_ms: s.events.back().map(|e| e.timestamp_ms),
                })
                .collect(),
        )
    }

    /// The events of a group, oldest first, from the streams `streams` names (all when empty),
    /// between `start` and `end` (ms, inclusive, exclusive), whose message contains every term
    /// of `pattern` (CloudWatch's plain term pattern); with their stream names.
    pub fn filter(
        &self,
        group: &str,
        streams: &[String],
        start: Option<i64>,
        end: Option<i64>,
        pattern: Option<&str>,
    ) -> Option<Vec<(String, LogEvent)>> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let all = groups.get(group)?;
        let terms: Vec<String> = pattern
            .map(|p| p.split_whitespace().map(|t| t.trim_matches('"').to_owned()).collect())
            .unwrap_or_default();
        let mut out: Vec<(String, LogEvent)> = all
            .iter()
            .filter(|(n, _)| streams.is_empty() || streams.contains(n))
            .flat_map(|(n, s)| s.events.iter().map(move |e| (n.clone(), e.clone())))
            .filter(|(_, e)| start.is_none_or(|t| e.timestamp_ms >= t) && end.is_none_or(|t| e.timestamp_ms < t))
            .filter(|(_, e)| terms.iter().all(|t| e.message.contains(t.as_str())))
            .collect();
        out.sort_by_key(|(_, e)| (e.timestamp_ms, e.id));
        Some(out)
    }

    pub fn delete_group(&self, group: &str) -> bool {
        self.groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(group)
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_kept_per_stream_and_filtered() {
        let logs = Logs::default();
        logs.append("/aws/lambda/f", "a", 1, "START RequestId: 1".into());
        logs.append("/aws/lambda/f", "b", 2, "hello world".into());
        logs.append("/aws/lambda/f", "a", 3, "END RequestId: 1".into());
        let all = logs.filter("/aws/lambda/f", &[], None, None, None).unwrap();
        assert_eq!(all.len(), 3);
        let hello = logs.filter("/aws/lambda/f", &[], None, None, Some("hello")).unwrap();
        assert_eq!(hello[0].1.message, "hello world");
        let only_a = logs
            .filter("/aws/lambda/f", &["a".into()], Some(2), None, None)
            .unwrap();
        assert_eq!(only_a.len(), 1);
        assert!(logs.filter("/aws/lambda/g", &[], None, None, None).is_none());
        assert_eq!(logs.streams("/aws/lambda/f").unwrap().len(), 2);
    }
}
