//! Starting servers and building clients.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::types::{Shard, ShardIteratorType};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use rheo_engine::{Clock, Engine, EngineConfig, ManualClock};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct TestServer {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Settings for a test server; `transition_delay_ms` 0 makes new streams ACTIVE at once.
pub struct Options {
    pub transition_delay_ms: i64,
    pub shard_limit: u32,
    pub segment_bytes: u64,
    /// TLS beside cleartext, with a self-signed certificate in the server's directory.
    pub tls: bool,
    /// Credentials whose signatures are verified (`AKID:SECRET[:ACCOUNT]`); none: any
    /// well-formed signature is accepted.
    pub credentials: Vec<&'static str>,
    /// Changes the server's other settings.
    pub configure: fn(&mut rheo_server::ServerOptions),
    /// Changes the engine's settings.
    pub engine: fn(&mut EngineConfig),
    /// Serve from a simulated disk (I/O errors, a full disk) instead of the real one.
    pub disk: Option<rheo_log::disk::SimDisk>,
    /// Buckets on other S3-compatible stores.
    pub s3_external: Vec<rheo_objects::external::ExternalConfig>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            transition_delay_ms: 0,
            shard_limit: 200,
            segment_bytes: 64 * 1024 * 1024,
            tls: false,
            credentials: Vec::new(),
            configure: |_| {},
            engine: |_| {},
            disk: None,
            s3_external: Vec::new(),
        }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::with(Options::default()).await
    }

    pub async fn with(opts: Options) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::default());
        let mut config = EngineConfig::new(dir.path().join("data"));
        config.transition_delay_ms = opts.transition_delay_ms;
        config.shard_limit = opts.shard_limit;
        config.log.segment_bytes = opts.segment_bytes;
        config.tick_ms = 50;
        (opts.engine)(&mut config);
        let engine = match opts.disk {
            Some(disk) => Engine::open_on(config, clock.clone() as Arc<dyn Clock>, Arc::new(disk)).unwrap(),
            None => Engine::open(config, clock.clone() as Arc<dyn Clock>).unwrap(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        if opts.tls {
            // Made before serving, as `rheo serve` does, so the test can read it at once.
            rheo_server::tls::self_signed(&dir.path().join("tls")).unwrap();
        }
        let mut server = rheo_server::ServerOptions {
            tls: opts.tls.then(|| rheo_server::tls::TlsSource::SelfSigned {
                dir: dir.path().join("tls"),
            }),
            credentials: opts
                .credentials
                .iter()
                .map(|c| rheo_server::auth::Credential::parse_spec(c).unwrap())
                .collect(),
            s3_external: opts.s3_external.clone(),
            ..Default::default()
        };
        (opts.configure)(&mut server);
        let task = tokio::spawn(rheo_server::serve(listener, engine.clone(), server));
        TestServer {
            addr,
            engine,
            clock,
            dir,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The self-signed certificate of a server started with `tls` (PEM).
    pub fn certificate(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("tls").join("cert.pem")).unwrap()
    }

    /// A TLS connection to this server (as `localhost`), trusting only its certificate, with
    /// the given ALPN protocols.
    pub async fn tls_connect(&self, alpn: &[&[u8]]) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls_pki_types::CertificateDer::from_pem_slice(&self.certificate()).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await.unwrap()
    }

    /// Sends one request over HTTP/1.1, over TLS or cleartext; returns the status and the
    /// JSON body.
    pub async fn send(&self, req: http::Request<Full<bytes::Bytes>>, tls: bool) -> (u16, serde_json::Value) {
        let resp = if tls {
            let stream = self.tls_connect(&[b"http/1.1"]).await;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            sender.send_request(req).await.unwrap()
        } else {
            let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
            client.request(req).await.unwrap()
        };
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    /// An SDK client over https to `localhost`, trusting only this server's certificate.
    pub fn https_client(&self) -> Client {
        use aws_smithy_http_client::tls::{TlsContext, TrustStore};
        let trust = TrustStore::empty().with_pem_certificate(self.certificate());
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(TlsContext::builder().with_trust_store(trust).build().unwrap())
            .build_https();
        let config = aws_sdk_kinesis::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(format!("https://localhost:{}", self.addr.port()))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(http)
            .build();
        Client::from_conf(config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        sqs_client(&self.url())
    }

    pub fn client(&self) -> Client {
        client_for(&self.url())
    }

    /// A request with a raw body; returns the status and the parsed JSON body.
    pub async fn raw(&self, target: &str, body: &str) -> (u16, serde_json::Value) {
        raw(&self.url(), target, body).await
    }

    pub fn clock_now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn arn(&self, stream: &str) -> String {
        format!("arn:aws:kinesis:us-east-1:000000000000:stream/{stream}")
    }
}

/// A request to Rheo's admin endpoints (`/_rheo/...`); returns the status and the JSON body.
pub async fn admin(url: &str, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let req = http::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

pub fn client_for(url: &str) -> Client {
    client_with(url, "us-east-1", "AKIDTEST", "secret")
}

/// A client signing for `region` with the given key.
pub fn client_with(url: &str, region: &str, access_key: &str, secret: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(access_key, secret, None, None, "test"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// An SQS client for this server, signing as the server's own account.
pub fn sqs_client(url: &str) -> aws_sdk_sqs::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .http_client(http)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// An SNS client for this server, signing as the server's own account.
pub fn sns_client(url: &str) -> aws_sdk_sns::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .http_client(http)
        .build();
    aws_sdk_sns::Client::from_conf(config)
}

/// Adds a well-formed (unverified) SigV4 signature for the server's own account in us-east-1:
/// what a server without configured credentials asks of a request.
pub fn well_formed_signature(req: http::request::Builder) -> http::request::Builder {
    req.header("x-amz-date", "20260101T000000Z").header(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
    )
}

pub async fn raw(url: &str, target: &str, body: &str) -> (u16, serde_json::Value) {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let req = well_formed_signature(http::Request::post(format!("{url}/")))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Kinesis_20131202.{target}"))
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Puts one record by partition key.
pub async fn put(
    c: &Client,
    stream: &str,
    partition_key: &str,
    data: impl Into<Vec<u8>>,
) -> aws_sdk_kinesis::operation::put_record::PutRecordOutput {
    let data = aws_sdk_kinesis::primitives::Blob::new(data);
    c.put_record()
        .stream_name(stream)
        .partition_key(partition_key)
        .data(data)
        .send()
        .await
        .unwrap()
}

/// A shard iterator of the given type for a shard.
pub async fn iterator(
    c: &Client,
    stream: &str,
    shard: &str,
    kind: aws_sdk_kinesis::types::ShardIteratorType,
) -> String {
    iterator_with(c, stream, shard, kind, None, None).await
}

/// A shard iterator of any type, with its sequence number or timestamp when given.
pub async fn iterator_with(
    c: &Client,
    stream: &str,
    shard: &str,
    kind: aws_sdk_kinesis::types::ShardIteratorType,
    seq: Option<&str>,
    ts_ms: Option<i64>,
) -> String {
    let out = c
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_starting_sequence_number(seq.map(str::to_owned))
        .set_timestamp(ts_ms.map(aws_sdk_kinesis::primitives::DateTime::from_millis))
        .send()
        .await
        .unwrap();
    out.shard_iterator().unwrap().to_owned()
}

/// The GetRecords response for an iterator.
pub async fn records_at(c: &Client, it: String) -> aws_sdk_kinesis::operation::get_records::GetRecordsOutput {
    c.get_records().shard_iterator(it).send().await.unwrap()
}

/// The records one GetRecords call returns from TRIM_HORIZON of a shard.
pub async fn first_records(c: &Client, stream: &str, shard: &str) -> Vec<aws_sdk_kinesis::types::Record> {
    let it = iterator(c, stream, shard, aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon).await;
    records_at(c, it).await.records().to_vec()
}

/// Creates a stream and waits until it is ACTIVE.
pub async fn create_active(client: &Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    wait_active(client, name).await;
}

pub async fn wait_active(client: &Client, name: &str) {
    for _ in 0..200 {
        let d = client.describe_stream_summary().stream_name(name).send().await.unwrap();
        if d.stream_description_summary().unwrap().stream_status().as_str() == "ACTIVE" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("stream {name} did not become ACTIVE");
}

/// The AWS error code of a failed SDK call.
pub fn code<T: std::fmt::Debug, E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, E>,
) -> String {
    let e = r.expect_err("the call should fail");
    e.code().unwrap_or_else(|| panic!("no error code in {e:?}")).to_owned()
}

/// MD5 of the partition key as a 128-bit big-endian integer, computed independently.
pub fn md5_hash_key(pk: &str) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(pk.as_bytes()).into())
}

/// A `rheo serve` child process listening on a free port.
pub struct ChildServer {
    pub child: std::process::Child,
    pub url: String,
}

impl ChildServer {
    /// Starts the built binary with extra arguments and environment, and waits for the line
    /// that names its address.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> ChildServer {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rheo"))
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("rheo listening on ")
            .expect("the server prints its address")
            .to_owned();
        ChildServer { child, url }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn all_shards(c: &Client, stream: &str) -> Vec<Shard> {
    c.list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap()
        .shards()
        .to_vec()
}

pub fn open_ids(shards: &[Shard]) -> Vec<String> {
    shards
        .iter()
        .filter(|s| s.sequence_number_range().unwrap().ending_sequence_number().is_none())
        .map(|s| s.shard_id().to_owned())
        .collect()
}

/// Reads a shard from TRIM_HORIZON to its end: for a closed shard until GetRecords returns no
/// NextShardIterator (returning the ChildShards it names), for an open one until caught up.
pub async fn read_shard(c: &Client, stream: &str, shard: &str) -> (Vec<(String, String)>, Option<Vec<String>>) {
    let mut it = Some(iterator(c, stream, shard, ShardIteratorType::TrimHorizon).await);
    let mut records = Vec::new();
    while let Some(current) = it {
        let out = records_at(c, current).await;
        for r in out.records() {
            let data = String::from_utf8(r.data().as_ref().to_vec()).unwrap();
            records.push((r.partition_key().unwrap_or_default().to_owned(), data));
        }
        if out.next_shard_iterator().is_none() {
            let children = out.child_shards().iter().map(|c| c.shard_id().to_owned()).collect();
            return (records, Some(children));
        }
        if out.records().is_empty() && out.millis_behind_latest() == Some(0) {
            return (records, None);
        }
        it = out.next_shard_iterator().map(str::to_owned);
    }
    (records, None)
}

/// Reads the whole stream the way KCL does: a shard only after all its parents are read.
pub async fn read_by_lineage(c: &Client, stream: &str) -> Vec<(String, String)> {
    let shards = all_shards(c, stream).await;
    let parents: HashMap<String, Vec<String>> = shards
        .iter()
        .map(|s| {
            let p = s.parent_shard_id().into_iter().chain(s.adjacent_parent_shard_id());
            (s.shard_id().to_owned(), p.map(str::to_owned).collect())
        })
        .collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<String> = shards
        .iter()
        .filter(|s| s.parent_shard_id().is_none())
        .map(|s| s.shard_id().to_owned())
        .collect();
    let mut all = Vec::new();
    while let Some(shard) = queue.pop_front() {
        if done.contains(&shard) {
            continue;
        }
        if !parents[&shard].iter().all(|p| done.contains(p)) {
            queue.push_back(shard);
            continue;
        }
        let (records, children) = read_shard(c, stream, &shard).await;
        all.extend(records);
        done.insert(shard.clone());
        let is_closed = children.is_some();
        for child in children.unwrap_or_default() {
            assert!(
                parents[&child].contains(&shard),
                "ChildShards of {shard} names {child}, which is not its child"
            );
            queue.push_back(child);
        }
        let listed_children = parents.iter().filter(|(_, p)| p.contains(&shard)).count();
        assert_eq!(
            is_closed,
            listed_children > 0,
            "{shard}: closed exactly when it has children"
        );
    }
    assert_eq!(done.len(), shards.len(), "every shard was reached through its lineage");
    all
}

/// Registers a consumer of a stream (by ARN).
pub async fn try_register(
    c: &Client,
    stream_arn: &str,
    name: &str,
) -> Result<
    aws_sdk_kinesis::operation::register_stream_consumer::RegisterStreamConsumerOutput,
    aws_sdk_kinesis::error::SdkError<aws_sdk_kinesis::operation::register_stream_consumer::RegisterStreamConsumerError>,
> {
    c.register_stream_consumer()
        .stream_arn(stream_arn)
        .consumer_name(name)
        .send()
        .await
}

/// Registers a consumer of a stream (by ARN); returns the consumer's ARN.
pub async fn register(c: &Client, stream_arn: &str, name: &str) -> String {
    let out = try_register(c, stream_arn, name).await.unwrap();
    out.consumer().unwrap().consumer_arn().to_owned()
}

/// SubscribeToShard from a starting position (with its sequence number or timestamp).
pub async fn try_subscribe(
    c: &Client,
    consumer: &str,
    shard: &str,
    kind: ShardIteratorType,
    seq: Option<&str>,
    ts_ms: Option<i64>,
) -> Result<
    aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardOutput,
    aws_sdk_kinesis::error::SdkError<aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardError>,
> {
    let start = aws_sdk_kinesis::types::StartingPosition::builder()
        .r#type(kind)
        .set_sequence_number(seq.map(str::to_owned))
        .set_timestamp(ts_ms.map(aws_sdk_kinesis::primitives::DateTime::from_millis))
        .build()
        .unwrap();
    c.subscribe_to_shard()
        .consumer_arn(consumer)
        .shard_id(shard)
        .starting_position(start)
        .send()
        .await
}

pub async fn subscribe(
    c: &Client,
    consumer: &str,
    shard: &str,
    kind: ShardIteratorType,
    seq: Option<&str>,
    ts_ms: Option<i64>,
) -> aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardOutput {
    try_subscribe(c, consumer, shard, kind, seq, ts_ms).await.unwrap()
}

/// Signs a request (header signature over its body's hash) with aws-sigv4, the SDK's signer.
pub fn sign(req: &mut http::Request<String>, access_key: &str, secret: &str, region: &str, at_ms: i64) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4::SigningParams;
    let identity = aws_credential_types::Credentials::new(access_key, secret, None, None, "t").into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kinesis")
        .time(std::time::SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms as u64))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(req.body().as_bytes()),
    )
    .unwrap();
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(req);
}

/// A request to `/_rheo/...` signed by the given key (for the server's region).
pub async fn signed_admin(
    server: &TestServer,
    key: (&str, &str),
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.url()))
        .header("host", server.addr.to_string())
        .body(body.to_owned())
        .unwrap();
    sign(&mut req, key.0, key.1, "us-east-1", server.clock_now());
    let (parts, body) = req.into_parts();
    server
        .send(
            http::Request::from_parts(parts, Full::new(bytes::Bytes::from(body))),
            false,
        )
        .await
}

/// A Lambda client for this server, signing as the server's own account.
pub fn lambda_client(url: &str) -> aws_sdk_lambda::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .http_client(http)
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}
