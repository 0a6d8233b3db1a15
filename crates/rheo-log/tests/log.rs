//! Behaviour of the shard log: round trips, segment rolls, recovery after power cuts, trimming.

use proptest::prelude::*;
use rheo_log::disk::SimDisk;
use rheo_log::{Durability, LogConfig, NewRecord, RealDisk, open};
use std::path::Path;
use std::sync::Arc;

fn rec(key: u64, data: &[u8]) -> NewRecord<'_> {
    NewRecord {
        key,
        timestamp_ms: key as i64 * 10,
        partition_key: b"pk",
        data,
    }
}

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        durability: Durability::Fsync,
    }
}

#[test]
fn appends_read_back_across_segments_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let data = vec![7u8; 100];
    {
        let (mut w, r) = open(Arc::new(RealDisk), dir.path(), small_segments()).unwrap();
        for batch in 0..20u64 {
            let recs: Vec<_> = (0..5).map(|i| rec(batch * 5 + i + 1, &data)).collect();
            w.append(&recs).unwrap();
        }
        assert!(r.segment_count() > 5, "segments roll by size");
        let all = r.read(0, 1000, usize::MAX, i64::MIN).unwrap();
        assert_eq!(
            all.iter().map(|r| r.key).collect::<Vec<_>>(),
            (1..=100).collect::<Vec<_>>()
        );
    }
    let (_w, r) = open(Arc::new(RealDisk), dir.path(), small_segments()).unwrap();
    assert_eq!(r.tail().first_key, Some(1));
    assert_eq!(r.tail().last_key, Some(100));
    assert_eq!(r.tail().last_timestamp_ms, Some(1000));
    let from_50 = r.read(50, 10, usize::MAX, i64::MIN).unwrap();
    assert_eq!(from_50.first().unwrap().key, 50);
    assert_eq!(from_50.len(), 10);
    assert_eq!(&from_50[0].data[..], &data[..]);
    assert_eq!(&from_50[0].partition_key[..], b"pk");
    // The byte budget stops a read, but always returns at least one record.
    assert_eq!(r.read(1, 1000, 250, i64::MIN).unwrap().len(), 2);
    assert_eq!(r.read(1, 1000, 1, i64::MIN).unwrap().len(), 1);
    assert_eq!(r.read(101, 10, usize::MAX, i64::MIN).unwrap().len(), 0);
}

#[test]
fn rejects_keys_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = open(Arc::new(RealDisk), dir.path(), LogConfig::default()).unwrap();
    w.append(&[rec(5, b"a")]).unwrap();
    assert!(w.append(&[rec(5, b"b")]).is_err());
    assert!(w.append(&[rec(7, b"b"), rec(6, b"c")]).is_err());
}

#[test]
fn finds_records_by_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, r) = open(Arc::new(RealDisk), dir.path(), small_segments()).unwrap();
    let data = [1u8; 200];
    for k in 1..=50 {
        w.append(&[rec(k, &data)]).unwrap();
    }
    assert_eq!(r.first_key_at_or_after(0).unwrap(), Some(1));
    assert_eq!(r.first_key_at_or_after(255).unwrap(), Some(26));
    assert_eq!(r.first_key_at_or_after(260).unwrap(), Some(26));
    assert_eq!(r.first_key_at_or_after(501).unwrap(), None);
}

#[test]
fn trims_whole_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, r) = open(Arc::new(RealDisk), dir.path(), small_segments()).unwrap();
    let data = [1u8; 200];
    for k in 1..=50 {
        w.append(&[rec(k, &data)]).unwrap();
    }
    let before = r.segment_count();
    let removed = r.trim_before(255).unwrap();
    assert!(removed > 0 && removed < before);
    let first = r.read(0, 1, usize::MAX, i64::MIN).unwrap()[0].key;
    assert!(
        first > 1 && first <= 26,
        "only segments wholly before the cutoff go: first={first}"
    );
    // Everything is old: all but the last segment go.
    r.trim_before(i64::MAX).unwrap();
    assert_eq!(r.segment_count(), 1);
    assert_eq!(r.read(0, 100, usize::MAX, i64::MIN).unwrap().last().unwrap().key, 50);
    drop(w);
    let (_, r) = open(Arc::new(RealDisk), dir.path(), small_segments()).unwrap();
    assert_eq!(r.segment_count(), 1);
}

#[test]
fn recovery_truncates_a_corrupt_tail_and_appends_continue() {
    let disk = SimDisk::default();
    let dir = Path::new("/log");
    let (mut w, _) = open(Arc::new(disk.clone()), dir, LogConfig::default()).unwrap();
    for k in 1..=10 {
        w.append(&[rec(k, b"hello")]).unwrap();
    }
    drop(w);
    // Flip a byte inside the 8th frame: frames 8..10 are lost, 1..7 kept.
    let frame = 8 + 18 + 2 + 5;
    disk.corrupt(&dir.join(format!("{:020}.log", 1)), frame * 7 + 20, &[0xff]);
    let (mut w, r) = open(Arc::new(disk.clone()), dir, LogConfig::default()).unwrap();
    let keys: Vec<u64> = r
        .read(0, 100, usize::MAX, i64::MIN)
        .unwrap()
        .iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, (1..=7).collect::<Vec<_>>());
    w.append(&[rec(8, b"again")]).unwrap();
    assert_eq!(r.read(8, 10, usize::MAX, i64::MIN).unwrap()[0].data, b"again"[..]);
}

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<usize>),
    PowerCut(usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let append = proptest::collection::vec(0usize..700, 1..6).prop_map(Step::Append);
    let cut = any::<usize>().prop_map(Step::PowerCut);
    proptest::collection::vec(prop_oneof![4 => append, 1 => cut], 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A model test: after any sequence of acknowledged appends and power cuts (with torn,
    /// partially written-back tails), the log holds exactly the acknowledged records, in order,
    /// and accepts new appends.
    #[test]
    fn power_cuts_never_lose_acknowledged_records(steps in steps()) {
        let disk = SimDisk::default();
        let dir = Path::new("/shard");
        let config = LogConfig { segment_bytes: 2048, durability: Durability::Fsync };
        let (mut w, mut r) = open(Arc::new(disk.clone()), dir, config).unwrap();
        let mut model: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut next_key = 1u64;
        for step in steps {
            match step {
                Step::Append(sizes) => {
                    let datas: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![(next_key % 251) as u8; n]).collect();
                    let recs: Vec<_> = datas.iter().enumerate().map(|(i, d)| rec(next_key + i as u64, d)).collect();
                    w.append(&recs).unwrap();
                    for (i, d) in datas.into_iter().enumerate() {
                        model.push((next_key + i as u64, d));
                    }
                    next_key += sizes.len() as u64;
                }
                Step::PowerCut(seed) => {
                    // An unacknowledged write (never synced) is in flight when the power goes;
                    // any prefix of it may have reached the medium.
                    drop(w);
                    let relaxed = LogConfig { durability: Durability::Relaxed, ..config };
                    let (mut unsynced_writer, _) = open(Arc::new(disk.clone()), dir, relaxed).unwrap();
                    let junk = vec![0xab; 300];
                    unsynced_writer.append(&[rec(next_key, &junk)]).unwrap();
                    let mut whole = false;
                    disk.power_cut(|_, unsynced| {
                        let keep = seed % (unsynced + 1);
                        whole |= keep == unsynced;
                        keep
                    });
                    (w, r) = open(Arc::new(disk.clone()), dir, config).unwrap();
                    if whole {
                        // It happened to reach the medium whole: recovery keeps it, correctly.
                        model.push((next_key, junk));
                    }
                    next_key += 1;
                }
            }
            let got: Vec<(u64, Vec<u8>)> = r.read(0, usize::MAX, usize::MAX, i64::MIN).unwrap()
                .into_iter().map(|r| (r.key, r.data.to_vec())).collect();
            prop_assert_eq!(&got, &model);
        }
    }
}
