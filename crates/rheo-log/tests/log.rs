//! Behaviour of the shard log: round trips, segment rolls, recovery after power cuts, trimming.

use proptest::prelude::*;
use rheo_log::disk::{Op, SimDisk};
use rheo_log::{Durability, LogConfig, LogError, NewRecord, OnCorruption, RealDisk, open};
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
        ..LogConfig::default()
    }
}

const EIO: i32 = 5;
const ENOSPC: i32 = 28;

fn keys(r: &rheo_log::LogReader) -> Vec<u64> {
    r.read(0, usize::MAX, usize::MAX, i64::MIN)
        .unwrap()
        .iter()
        .map(|r| r.key)
        .collect()
}

#[test]
fn corruption_in_a_sealed_segment_refuses_to_open_unless_quarantined() {
    let disk = SimDisk::default();
    let dir = Path::new("/log");
    let (mut w, r) = open(Arc::new(disk.clone()), dir, small_segments()).unwrap();
    let data = [3u8; 200];
    for k in 1..=20 {
        w.append(&[rec(k, &data)]).unwrap();
    }
    assert!(r.segment_count() > 3);
    drop((w, r));
    let first = dir.join(format!("{:020}.log", 1));
    disk.corrupt(&first, 40, &[0xff]);
    let e = open(Arc::new(disk.clone()), dir, small_segments()).err().unwrap();
    assert!(matches!(&e, LogError::Corrupt { path, .. } if *path == first), "{e}");
    assert!(e.to_string().contains("00000000000000000001.log"), "{e}");
    // Nothing was truncated or deleted by the refusal.
    let e = open(Arc::new(disk.clone()), dir, small_segments()).err().unwrap();
    assert!(matches!(e, LogError::Corrupt { .. }));
    // The operator's choice: move it aside and serve the rest.
    let quarantine = LogConfig {
        on_corruption: OnCorruption::Quarantine,
        ..small_segments()
    };
    let (mut w, r) = open(Arc::new(disk.clone()), dir, quarantine).unwrap();
    let kept = keys(&r);
    assert!(!kept.contains(&1) && kept.ends_with(&[20]), "{kept:?}");
    assert!(
        disk.files_in(dir)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".log.corrupt"))
    );
    w.append(&[rec(21, b"on")]).unwrap();
    // An empty file among the sealed segments (a roll that failed after creating its file)
    // held nothing: it is removed, and the rest opens.
    let disk = SimDisk::default();
    let (mut w, _) = open(Arc::new(disk.clone()), dir, small_segments()).unwrap();
    for k in 1..=20 {
        w.append(&[rec(k, &data)]).unwrap();
    }
    drop(w);
    let leftover = dir.join(format!("{:020}.log", 2));
    let f = rheo_log::Disk::open(&disk, &leftover, true).unwrap();
    f.sync().unwrap();
    rheo_log::Disk::sync_dir(&disk, dir).unwrap();
    let (_, r) = open(Arc::new(disk.clone()), dir, small_segments()).unwrap();
    assert_eq!(keys(&r), (1..=20).collect::<Vec<_>>());
    assert!(!disk.files_in(dir).contains(&leftover));
}

#[test]
fn a_failed_sync_or_a_full_disk_loses_only_the_failed_batch_and_heals_without_restart() {
    let disk = SimDisk::default();
    let dir = Path::new("/log");
    let (mut w, r) = open(Arc::new(disk.clone()), dir, LogConfig::default()).unwrap();
    w.append(&[rec(1, b"one")]).unwrap();
    // The sync fails: the batch is reported failed and cut off.
    disk.fail(Op::Sync, 1, EIO);
    assert!(w.append(&[rec(2, b"failed")]).is_err());
    w.append(&[rec(3, b"three")]).unwrap();
    assert_eq!(keys(&r), [1, 3]);
    // The disk fills: writes fail with ENOSPC until space is freed, then go on.
    disk.set_capacity(Some(0));
    let e = w.append(&[rec(4, b"full")]).unwrap_err();
    assert!(
        matches!(&e, LogError::Io { source, .. } if rheo_log::disk::is_no_space(source)),
        "{e}"
    );
    disk.set_capacity(None);
    w.append(&[rec(5, b"five")]).unwrap();
    // The cut itself fails: appends are refused until a retry of it succeeds.
    disk.fail(Op::Sync, 3, EIO);
    assert!(w.append(&[rec(6, b"failed")]).is_err());
    assert!(w.needs_repair());
    // The first retry fails too; the next waits out its back-off without touching the disk.
    assert!(matches!(w.append(&[rec(7, b"refused")]), Err(LogError::Io { .. })));
    assert!(matches!(w.append(&[rec(7, b"refused")]), Err(LogError::Poisoned)));
    std::thread::sleep(std::time::Duration::from_millis(250));
    w.append(&[rec(8, b"eight")]).unwrap();
    assert!(!w.needs_repair());
    assert_eq!(keys(&r), [1, 3, 5, 8]);
    // After a power cut, what was reported failed does not reappear.
    drop((w, r));
    disk.power_cut(|_, n| n);
    let (_, r) = open(Arc::new(disk.clone()), dir, LogConfig::default()).unwrap();
    assert_eq!(keys(&r), [1, 3, 5, 8]);
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
    /// The next `1 + n % 2` operations of this kind fail (with ENOSPC when `full`).
    Fail(Op, usize, bool),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let append = proptest::collection::vec(0usize..700, 1..6).prop_map(Step::Append);
    let cut = any::<usize>().prop_map(Step::PowerCut);
    let op = prop_oneof![
        Just(Op::Write),
        Just(Op::Sync),
        Just(Op::SetLen),
        Just(Op::Open),
        Just(Op::SyncDir)
    ];
    let fail = (op, any::<usize>(), any::<bool>()).prop_map(|(o, n, f)| Step::Fail(o, n, f));
    proptest::collection::vec(prop_oneof![4 => append, 1 => cut, 1 => fail], 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A model test: after any sequence of appends, I/O errors and full disks (on writes,
    /// syncs, truncations, segment creation) and power cuts (with torn, partially written-back
    /// tails), the log holds exactly the acknowledged records, in order: none lost, none that
    /// was reported failed; and it goes on taking appends once the faults pass.
    #[test]
    fn power_cuts_never_lose_acknowledged_records(steps in steps()) {
        let disk = SimDisk::default();
        let dir = Path::new("/shard");
        let config = LogConfig { segment_bytes: 2048, ..LogConfig::default() };
        let (mut w, mut r) = open(Arc::new(disk.clone()), dir, config).unwrap();
        let mut model: Vec<(u64, Vec<u8>)> = Vec::new();
        // A failed batch whose bytes could not be cut off yet: a restart before the cut
        // succeeds may find it (as after a crash of the write), never anything else.
        let mut in_doubt: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut next_key = 1u64;
        for step in steps {
            match step {
                Step::Append(sizes) => {
                    let datas: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![(next_key % 251) as u8; n]).collect();
                    let recs: Vec<_> = datas.iter().enumerate().map(|(i, d)| rec(next_key + i as u64, d)).collect();
                    // A refusal while a repair's back-off runs passes once the back-off does.
                    let mut result = w.append(&recs);
                    for _ in 0..3 {
                        if !matches!(result, Err(LogError::Poisoned)) {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(120));
                        result = w.append(&recs);
                    }
                    let batch = datas.into_iter().enumerate().map(|(i, d)| (next_key + i as u64, d));
                    if result.is_ok() {
                        in_doubt.clear();
                        model.extend(batch);
                    } else if w.needs_repair() && in_doubt.is_empty() {
                        in_doubt.extend(batch);
                    }
                    next_key += sizes.len() as u64;
                }
                Step::Fail(op, n, full) => disk.fail(op, 1 + n % 2, if full { ENOSPC } else { EIO }),
                Step::PowerCut(seed) => {
                    // An unacknowledged write (never synced) is in flight when the power goes;
                    // any prefix of it may have reached the medium.
                    drop(w);
                    disk.clear_faults();
                    let relaxed = LogConfig { durability: Durability::Relaxed, ..config };
                    let (mut unsynced_writer, _) = open(Arc::new(disk.clone()), dir, relaxed).unwrap();
                    let junk = vec![0xab; 300];
                    unsynced_writer.append(&[rec(next_key, &junk)]).unwrap();
                    disk.power_cut(|_, unsynced| seed % (unsynced + 1));
                    (w, r) = open(Arc::new(disk.clone()), dir, config).unwrap();
                    // What reached the medium whole of the unacknowledged writes is kept,
                    // correctly: any prefix of them, after every acknowledged record.
                    let got: Vec<(u64, Vec<u8>)> = r.read(0, usize::MAX, usize::MAX, i64::MIN).unwrap()
                        .into_iter().map(|r| (r.key, r.data.to_vec())).collect();
                    prop_assert!(got.starts_with(&model), "acknowledged records survive");
                    // The failed batch may be there (its bytes were never cut off) or not (they
                    // never reached the file); the unacknowledged write follows either way.
                    let rest = &got[model.len()..];
                    let junk = [(next_key, junk)];
                    let mut with_doubt = std::mem::take(&mut in_doubt);
                    with_doubt.extend(junk.iter().cloned());
                    prop_assert!(
                        with_doubt.starts_with(rest) || junk.starts_with(rest),
                        "nothing else appears"
                    );
                    model = got;
                    next_key += 1;
                }
            }
            let got: Vec<(u64, Vec<u8>)> = r.read(0, usize::MAX, usize::MAX, i64::MIN).unwrap()
                .into_iter().map(|r| (r.key, r.data.to_vec())).collect();
            prop_assert_eq!(&got, &model);
        }
    }
}
