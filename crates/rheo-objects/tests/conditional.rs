//! Conditional writes race: of many concurrent creates of one key with `If-None-Match: *`
//! (small objects and large, through group commit), exactly one wins and the key holds its
//! bytes; an `If-Match` of a stale ETag never lands.

use rheo_log::LogConfig;
use rheo_objects::local::{LocalStore, ObjectError, Origin, Precondition, PutInput};
use std::sync::Arc;

#[test]
fn one_conditional_create_wins_a_race() {
    let dir = tempfile::tempdir().unwrap();
    let disk: Arc<dyn rheo_log::Disk> = Arc::new(rheo_log::disk::RealDisk);
    let store = Arc::new(LocalStore::open(disk, dir.path(), LogConfig::default()).unwrap());
    store.create_bucket("bkt", 0).unwrap();
    for (round, size) in [(0, 100usize), (1, 200_000)] {
        let key = format!("k{round}");
        let threads: Vec<_> = (0..8u8)
            .map(|i| {
                let (store, key) = (store.clone(), key.clone());
                std::thread::spawn(move || {
                    let body = vec![i; size];
                    if size <= rheo_objects::local::INLINE_MAX {
                        store.put_inline(
                            "bkt",
                            &key,
                            PutInput::default(),
                            body,
                            Origin::default(),
                            Some(Precondition::Absent),
                            1,
                        )
                    } else {
                        let mut obj = store.new_object("bkt").unwrap();
                        obj.write(&body).unwrap();
                        obj.commit_if(
                            &key,
                            PutInput::default(),
                            Origin::default(),
                            Some(Precondition::Absent),
                            1,
                        )
                    }
                    .map(|_| i)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<u8> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(_) | Err(ObjectError::PreconditionFailed)))
        );
        let (meta, f) = store.open_object("bkt", &key).unwrap();
        let mut buf = vec![0u8; meta.size as usize];
        rheo_log::disk::read_full_at(&*f, &mut buf, 0).unwrap();
        assert!(buf.iter().all(|&b| b == winners[0]), "the winner's bytes");
        let stale = store.put_inline(
            "bkt",
            &key,
            PutInput::default(),
            b"x".to_vec(),
            Origin::default(),
            Some(Precondition::EtagIs("0123".into())),
            2,
        );
        assert_eq!(stale.unwrap_err(), ObjectError::PreconditionFailed);
        let fresh = store.put_inline(
            "bkt",
            &key,
            PutInput::default(),
            b"x".to_vec(),
            Origin::default(),
            Some(Precondition::EtagIs(meta.etag.clone())),
            2,
        );
        assert!(fresh.is_ok());
    }
}
