//! `rheo serve` settings from the environment, a TOML file and flags, checked on the running
//! binary; and the relaxed durability mode end to end.

use crate::common::{ChildServer, client_with, code, first_records, put, wait_active};

#[tokio::test]
async fn environment_file_and_flags_configure_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-env");
    let config = dir.path().join("rheo.toml");
    std::fs::write(
        &config,
        "region = \"eu-west-1\"\naccount-id = \"123456789012\"\nshard-limit = 100\n",
    )
    .unwrap();
    let mut server = ChildServer::start(
        &["--shard-limit", "3"],
        &[
            ("RHEO_LISTEN", "127.0.0.1:0"),
            ("RHEO_DATA_DIR", data.to_str().unwrap()),
            ("RHEO_CONFIG", config.to_str().unwrap()),
            ("RHEO_DURABILITY", "relaxed"),
            ("RHEO_TRANSITION_DELAY_MS", "0"),
        ],
    );
    // The region a client signs for picks the region it works in.
    let c = client_with(&server.url, "eu-west-1", "AKIDTEST", "secret");
    c.create_stream()
        .stream_name("cfg")
        .shard_count(2)
        .send()
        .await
        .unwrap();
    wait_active(&c, "cfg").await;
    // Region and account from the file; the shard limit from the flag, over the file's.
    let d = c.describe_stream_summary().stream_name("cfg").send().await.unwrap();
    let arn = d.stream_description_summary().unwrap().stream_arn().to_owned();
    assert_eq!(arn, "arn:aws:kinesis:eu-west-1:123456789012:stream/cfg");
    assert_eq!(
        code(c.create_stream().stream_name("more").shard_count(2).send().await),
        "LimitExceededException"
    );
    assert_eq!(c.describe_limits().send().await.unwrap().shard_limit(), 3);
    // The data directory from the environment holds the catalog and the shard logs.
    assert!(data.join("catalog.json").is_file());
    assert!(data.join("streams").is_dir());
    // Relaxed mode still stores and serves records, and keeps them across a process kill.
    let put = put(&c, "cfg", "k", "relaxed").await;
    server.kill();
    let server = ChildServer::start(
        &["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()],
        &[("RHEO_CONFIG", config.to_str().unwrap())],
    );
    let c = client_with(&server.url, "eu-west-1", "AKIDTEST", "secret");
    let records = first_records(&c, "cfg", put.shard_id()).await;
    assert_eq!(records[0].data().as_ref(), b"relaxed");
}

#[tokio::test]
async fn bad_settings_stop_the_server_with_a_message() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rheo"))
        .args(["serve", "--listen", "127.0.0.1:0", "--durability", "sometimes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("durability must be `fsync` or `relaxed`"));
}
