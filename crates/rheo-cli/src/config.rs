//! `rheo serve`: settings from flags, environment variables and a TOML file, in that order of
//! precedence, then the defaults.

use anyhow::Context;
use rheo_engine::{Engine, EngineConfig, SystemClock};
use rheo_log::Durability;
use rheo_server::ServerOptions;
use rheo_server::auth::Credential;
use rheo_server::faults::FaultRule;
use rheo_server::tls::TlsSource;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (kebab-case keys, e.g. `data-dir`).
    #[arg(long, env = "RHEO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:4567]; port 0 picks a free port.
    #[arg(long, env = "RHEO_LISTEN")]
    pub listen: Option<String>,
    /// Directory for data and catalog [default: ./rheo-data].
    #[arg(long, env = "RHEO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Region in ARNs [default: us-east-1].
    #[arg(long, env = "RHEO_REGION")]
    pub region: Option<String>,
    /// Account id in ARNs and messages [default: 000000000000].
    #[arg(long, env = "RHEO_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// Most open shards across all streams [default: 20000].
    #[arg(long, env = "RHEO_SHARD_LIMIT")]
    pub shard_limit: Option<u32>,
    /// How long streams stay CREATING, UPDATING (resharding) or DELETING, in ms [default: 500].
    #[arg(long, env = "RHEO_TRANSITION_DELAY_MS")]
    pub transition_delay_ms: Option<i64>,
    /// `fsync` (acknowledge after fsync, the default) or `relaxed` (acknowledge after write:
    /// survives a process crash, not a power cut).
    #[arg(long, env = "RHEO_DURABILITY")]
    pub durability: Option<String>,
    /// Segment size in bytes before a shard log rolls [default: 64 MiB].
    #[arg(long, env = "RHEO_SEGMENT_BYTES")]
    pub segment_bytes: Option<u64>,
    /// Per-shard throughput limits: `off` (the default) or `aws` (1 MiB/s and 1,000 records/s
    /// of writes, 2 MiB/s and 5 GetRecords calls/s of reads). Changeable at run time with
    /// `PUT /_rheo/throughput-limits`, and per stream.
    #[arg(long, env = "RHEO_THROUGHPUT_LIMITS")]
    pub throughput_limits: Option<String>,
    /// Fault injection, repeatable: `ACTION[:error-rate=R,error=NAME,latency-ms=MS]` with
    /// ACTION an operation or `*` (separate several with `;` in RHEO_FAULTS). Changeable at run
    /// time with `PUT /_rheo/faults`.
    #[arg(long = "fault", env = "RHEO_FAULTS", value_delimiter = ';')]
    pub faults: Vec<String>,
    /// Serve TLS (with ALPN h2 and http/1.1) on the listening port beside cleartext, with a
    /// self-signed certificate generated once into DATA_DIR/tls (unless --tls-cert is given).
    #[arg(long, env = "RHEO_TLS")]
    pub tls: bool,
    /// A PEM certificate chain for TLS (implies --tls); needs --tls-key.
    #[arg(long, env = "RHEO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "RHEO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A credential whose SigV4 signatures are verified, repeatable:
    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:ACCOUNT_ID]` (separate several with `;` in
    /// RHEO_CREDENTIALS). With none, any well-formed signature is accepted, which is allowed
    /// only on a loopback address.
    #[arg(long = "credential", env = "RHEO_CREDENTIALS", value_delimiter = ';')]
    pub credentials: Vec<String>,
    /// Serve a non-loopback address without credentials: anyone who can reach it can read and
    /// write every stream.
    #[arg(long, env = "RHEO_ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,
    /// With TLS on, refuse requests that arrive over cleartext (403 AccessDeniedException).
    #[arg(long, env = "RHEO_REQUIRE_TLS")]
    pub require_tls: bool,
    /// The credential `/_rheo/` requires, `ACCESS_KEY_ID:SECRET_ACCESS_KEY`. Without one,
    /// `/_rheo/` is served only to loopback clients (signed by a credential when any are set).
    #[arg(long, env = "RHEO_ADMIN_CREDENTIAL")]
    pub admin_credential: Option<String>,
    /// Regions served besides --region, comma-separated; signatures scoped to any other
    /// region are refused.
    #[arg(long, env = "RHEO_REGIONS", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Host names under which `<bucket>.<domain>` addresses a bucket (S3 virtual-hosted
    /// style), comma-separated, besides `localhost` and `s3.localhost`.
    #[arg(long, env = "RHEO_S3_DOMAINS", value_delimiter = ',')]
    pub s3_domains: Vec<String>,
    /// A bucket that lives on another S3-compatible store, repeatable:
    /// `name=NAME,endpoint=URL,access-key-id=K,secret-access-key=S[,bucket=REMOTE][,region=R][,path-style=false]`
    /// (or `[[s3-external-buckets]]` tables in the config file). It belongs to the server's own
    /// account and region.
    #[arg(long = "s3-external-bucket")]
    pub s3_external_buckets: Vec<String>,
    /// Accounts and regions open at once besides the server's own [default: 64].
    #[arg(long, env = "RHEO_MAX_TENANTS")]
    pub max_tenants: Option<usize>,
    /// An account and region unused this long is closed, in ms [default: 600000].
    #[arg(long, env = "RHEO_TENANT_IDLE_TIMEOUT_MS")]
    pub tenant_idle_timeout_ms: Option<u64>,
    /// Connections open at once; past it new ones are closed at once [default: 4096].
    #[arg(long, env = "RHEO_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// A new connection must send its first byte within this, in ms [default: 10000].
    #[arg(long, env = "RHEO_FIRST_BYTE_TIMEOUT_MS")]
    pub first_byte_timeout_ms: Option<u64>,
    /// A connection with no request in flight for this long is closed, in ms [default: 60000].
    #[arg(long, env = "RHEO_IDLE_TIMEOUT_MS")]
    pub idle_timeout_ms: Option<u64>,
    /// Time for a request's headers, then its body; and how long a request in flight may make
    /// no progress before its connection is closed, in ms [default: 60000].
    #[arg(long, env = "RHEO_READ_TIMEOUT_MS")]
    pub read_timeout_ms: Option<u64>,
    /// HTTP/2 streams per connection [default: 100].
    #[arg(long, env = "RHEO_H2_MAX_STREAMS")]
    pub h2_max_streams: Option<u32>,
    /// Request-body bytes held at once, each request charged twice its size [default: 256 MiB].
    #[arg(long, env = "RHEO_BODY_BUDGET_BYTES")]
    pub body_budget_bytes: Option<usize>,
    /// Of the body budget, what one account and region may hold [default: 128 MiB].
    #[arg(long, env = "RHEO_TENANT_BODY_BYTES")]
    pub tenant_body_bytes: Option<usize>,
    /// Message bytes (bodies and attributes) the SQS queues of one account and region may hold;
    /// sends past it get OverLimit [default: 2 GiB].
    #[arg(long, env = "RHEO_SQS_TENANT_MESSAGE_BYTES")]
    pub sqs_tenant_message_bytes: Option<usize>,
    /// A Python interpreter that has awslambdaric, to run python3.x functions with. Without it
    /// Rheo makes a virtualenv in DATA_DIR/runtimes/python on first need (pip install
    /// awslambdaric boto3, from PyPI).
    #[arg(long, env = "RHEO_PYTHON_INTERPRETER")]
    pub python_interpreter: Option<PathBuf>,
    /// Message bytes all SQS queues of the server may hold together [default: 4 GiB].
    #[arg(long, env = "RHEO_SQS_MESSAGE_BYTES")]
    pub sqs_message_bytes: Option<usize>,
    /// Of the body budget, what one connection may hold [default: 64 MiB].
    #[arg(long, env = "RHEO_CONNECTION_BODY_BYTES")]
    pub connection_body_bytes: Option<usize>,
    /// Writes are refused (ProvisionedThroughputExceededException) while the data disk has
    /// less than this many bytes free [default: 128 MiB].
    #[arg(long, env = "RHEO_MIN_FREE_BYTES")]
    pub min_free_bytes: Option<u64>,
    /// A corrupt sealed segment found at start: `refuse` to start, naming the file (the
    /// default), or `quarantine` it (move it aside as NAME.log.corrupt and serve the rest).
    #[arg(long, env = "RHEO_ON_CORRUPTION")]
    pub on_corruption: Option<String>,
}

#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    region: Option<String>,
    account_id: Option<String>,
    shard_limit: Option<u32>,
    transition_delay_ms: Option<i64>,
    durability: Option<String>,
    segment_bytes: Option<u64>,
    throughput_limits: Option<String>,
    #[serde(default)]
    fault: Vec<FaultRule>,
    #[serde(default)]
    tls: bool,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    credential: Vec<Credential>,
    #[serde(default)]
    allow_unauthenticated: bool,
    #[serde(default)]
    require_tls: bool,
    admin_credential: Option<Credential>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    s3_domains: Vec<String>,
    #[serde(default)]
    s3_external_buckets: Vec<rheo_objects::external::ExternalConfig>,
    max_tenants: Option<usize>,
    tenant_idle_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    first_byte_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    read_timeout_ms: Option<u64>,
    h2_max_streams: Option<u32>,
    body_budget_bytes: Option<usize>,
    tenant_body_bytes: Option<usize>,
    connection_body_bytes: Option<usize>,
    sqs_tenant_message_bytes: Option<usize>,
    sqs_message_bytes: Option<usize>,
    python_interpreter: Option<PathBuf>,
    min_free_bytes: Option<u64>,
    on_corruption: Option<String>,
}

/// The settings `serve` runs with.
#[derive(Debug)]
pub struct Settings {
    pub listen: String,
    pub engine: EngineConfig,
    pub server: ServerOptions,
    /// Serving a non-loopback address without credentials was asked for.
    pub allow_unauthenticated: bool,
}

pub fn settings(args: ServeArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
            toml::from_str::<FileSettings>(&text).with_context(|| format!("parsing config file {}", path.display()))?
        }
        None => FileSettings::default(),
    };
    let data_dir = args
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("rheo-data"));
    let mut engine = EngineConfig::new(data_dir);
    if let Some(r) = args.region.or(file.region) {
        engine.region = r;
    }
    if let Some(a) = args.account_id.or(file.account_id) {
        anyhow::ensure!(
            a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()),
            "account id must be 12 digits, got {a:?}"
        );
        engine.account = a;
    }
    if let Some(n) = args.shard_limit.or(file.shard_limit) {
        engine.shard_limit = n;
    }
    if let Some(ms) = args.transition_delay_ms.or(file.transition_delay_ms) {
        anyhow::ensure!(ms >= 0, "transition delay must not be negative");
        engine.transition_delay_ms = ms;
    }
    engine.log.durability = match args.durability.or(file.durability).as_deref() {
        None | Some("fsync") => Durability::Fsync,
        Some("relaxed") => Durability::Relaxed,
        Some(other) => anyhow::bail!("durability must be `fsync` or `relaxed`, got {other:?}"),
    };
    if let Some(b) = args.segment_bytes.or(file.segment_bytes) {
        anyhow::ensure!(b >= 4096, "segment size must be at least 4096 bytes");
        engine.log.segment_bytes = b;
    }
    if let Some(b) = args.min_free_bytes.or(file.min_free_bytes) {
        engine.min_free_bytes = b;
    }
    engine.log.on_corruption = match args.on_corruption.or(file.on_corruption).as_deref() {
        None | Some("refuse") => rheo_log::OnCorruption::Refuse,
        Some("quarantine") => rheo_log::OnCorruption::Quarantine,
        Some(other) => anyhow::bail!("on-corruption must be `refuse` or `quarantine`, got {other:?}"),
    };
    if let Some(p) = args.throughput_limits.or(file.throughput_limits) {
        engine.throughput_limits = p.parse().map_err(anyhow::Error::msg)?;
    }
    let faults = flags_or_file(
        &args.faults,
        |spec| FaultRule::parse_spec(spec).map_err(|e| anyhow::anyhow!("--fault {spec}: {e}")),
        file.fault,
        |rule| {
            rule.check()
                .map_err(|e| anyhow::anyhow!("fault for {}: {e}", rule.operation))
        },
    )?;
    let tls = match (args.tls_cert.or(file.tls_cert), args.tls_key.or(file.tls_key)) {
        (Some(cert), Some(key)) => Some(TlsSource::Files { cert, key }),
        (None, None) if args.tls || file.tls => Some(TlsSource::SelfSigned {
            dir: engine.data_dir.join("tls"),
        }),
        (None, None) => None,
        _ => anyhow::bail!("tls-cert and tls-key go together"),
    };
    // A credential's spec holds its secret: errors name only the flag.
    let credentials = flags_or_file(
        &args.credentials,
        |spec| Credential::parse_spec(spec).map_err(|e| anyhow::anyhow!("--credential: {e}")),
        file.credential,
        |c| {
            c.check()
                .map_err(|e| anyhow::anyhow!("credential {}: {e}", c.access_key_id))
        },
    )?;
    let admin_credential = match args.admin_credential {
        Some(spec) => Some(Credential::parse_spec(&spec).map_err(|e| anyhow::anyhow!("--admin-credential: {e}"))?),
        None => file.admin_credential,
    };
    if let Some(c) = &admin_credential {
        c.check().map_err(|e| anyhow::anyhow!("admin credential: {e}"))?;
    }
    let defaults = ServerOptions::default();
    let ms = |flag: Option<u64>, file: Option<u64>, default: std::time::Duration| {
        flag.or(file).map_or(default, std::time::Duration::from_millis)
    };
    let regions = if args.regions.is_empty() {
        file.regions
    } else {
        args.regions
    };
    for r in &regions {
        anyhow::ensure!(
            !r.is_empty()
                && r.len() <= 32
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "region {r:?} is not a region name"
        );
    }
    let s3_domains = if args.s3_domains.is_empty() {
        file.s3_domains
    } else {
        args.s3_domains
    };
    let mut s3_external = file.s3_external_buckets;
    for spec in &args.s3_external_buckets {
        s3_external.push(
            rheo_objects::external::ExternalConfig::parse_spec(spec)
                .map_err(|e| anyhow::anyhow!("--s3-external-bucket {spec:?}: {e}"))?,
        );
    }
    let server = ServerOptions {
        s3_domains,
        s3_external,
        faults,
        tls,
        credentials,
        admin_credential,
        regions,
        require_tls: args.require_tls || file.require_tls,
        max_tenants: args.max_tenants.or(file.max_tenants).unwrap_or(defaults.max_tenants),
        tenant_idle_timeout: ms(
            args.tenant_idle_timeout_ms,
            file.tenant_idle_timeout_ms,
            defaults.tenant_idle_timeout,
        ),
        max_connections: args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(defaults.max_connections),
        first_byte_timeout: ms(
            args.first_byte_timeout_ms,
            file.first_byte_timeout_ms,
            defaults.first_byte_timeout,
        ),
        idle_timeout: ms(args.idle_timeout_ms, file.idle_timeout_ms, defaults.idle_timeout),
        read_timeout: ms(args.read_timeout_ms, file.read_timeout_ms, defaults.read_timeout),
        h2_max_streams: args
            .h2_max_streams
            .or(file.h2_max_streams)
            .unwrap_or(defaults.h2_max_streams),
        body_budget_bytes: args
            .body_budget_bytes
            .or(file.body_budget_bytes)
            .unwrap_or(defaults.body_budget_bytes),
        tenant_body_bytes: args
            .tenant_body_bytes
            .or(file.tenant_body_bytes)
            .unwrap_or(defaults.tenant_body_bytes),
        connection_body_bytes: args
            .connection_body_bytes
            .or(file.connection_body_bytes)
            .unwrap_or(defaults.connection_body_bytes),
        sqs: rheo_server::SqsLimits {
            stored_bytes: args
                .sqs_tenant_message_bytes
                .or(file.sqs_tenant_message_bytes)
                .unwrap_or(defaults.sqs.stored_bytes),
            server_stored_bytes: args
                .sqs_message_bytes
                .or(file.sqs_message_bytes)
                .unwrap_or(defaults.sqs.server_stored_bytes),
            ..defaults.sqs
        },
        functions: rheo_server::FunctionOptions {
            python: args
                .python_interpreter
                .clone()
                .or(file.python_interpreter.clone())
                .map(rheo_functions::runtime::PythonSetup::Interpreter),
            ..defaults.functions.clone()
        },
        ..defaults
    };
    server.check().map_err(anyhow::Error::msg)?;
    let listen = args.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:4567".into());
    Ok(Settings {
        listen,
        engine,
        server,
        allow_unauthenticated: args.allow_unauthenticated || file.allow_unauthenticated,
    })
}

/// A repeatable setting: parsed from the flags' specs when any were given, else the config
/// file's entries, each checked.
fn flags_or_file<T>(
    specs: &[String],
    parse: impl Fn(&str) -> anyhow::Result<T>,
    file: Vec<T>,
    check: impl Fn(&T) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<T>> {
    if specs.is_empty() {
        file.iter().try_for_each(check)?;
        Ok(file)
    } else {
        specs.iter().map(|s| parse(s)).collect()
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let s = settings(args)?;
    // Checked before binding, so a refused address is never served, even briefly.
    let loopback = tokio::net::lookup_host(&s.listen)
        .await
        .with_context(|| format!("resolving {}", s.listen))?
        .all(|a| a.ip().is_loopback());
    if s.server.credentials.is_empty() && !loopback {
        anyhow::ensure!(
            s.allow_unauthenticated,
            "{} is not a loopback address and no --credential is configured: anyone who can reach it could read and write every stream. Configure credentials, or pass --allow-unauthenticated to serve it anyway.",
            s.listen
        );
        tracing::warn!(listen = %s.listen, "SERVING WITHOUT AUTHENTICATION ON A NON-LOOPBACK ADDRESS: any well-formed signature is accepted; anyone who can reach this address can read, write and delete every stream (--allow-unauthenticated)");
    }
    let listener = tokio::net::TcpListener::bind(&s.listen)
        .await
        .with_context(|| format!("listening on {}", s.listen))?;
    let addr = listener.local_addr()?;
    if s.server.credentials.is_empty() {
        tracing::info!("no credentials configured: any well-formed SigV4 signature is accepted");
    } else {
        tracing::info!(count = s.server.credentials.len(), "verifying SigV4 signatures");
    }
    let durability = s.engine.log.durability;
    let limits = s.engine.throughput_limits;
    let faults = s.server.faults.clone();
    let data_dir = s.engine.data_dir.clone();
    let engine = Engine::open(s.engine, Arc::new(SystemClock)).context("opening the engine")?;
    tracing::info!(%addr, data_dir = %data_dir.display(), ?durability, ?limits, "rheo is serving");
    if !faults.is_empty() {
        tracing::warn!(?faults, "fault injection is on");
    }
    if let Some(source) = &s.server.tls {
        // Made (or checked) now, so a bad certificate stops the start with a clear error.
        rheo_server::tls::server_config(source).context("setting up TLS")?;
        let cert = match source {
            TlsSource::Files { cert, .. } => cert.clone(),
            TlsSource::SelfSigned { dir } => dir.join("cert.pem"),
        };
        tracing::info!(cert = %cert.display(), "TLS is on, beside cleartext on the same port");
    }
    // Scripts and tests read the address from this line.
    println!("rheo listening on http://{addr}");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // Every acknowledged record is already durable, so stopping needs no flush.
    tokio::select! {
        r = rheo_server::serve(listener, engine, s.server) => r.context("serving")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
        _ = terminate.recv() => tracing::info!("terminated; stopping"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rheo.toml");
        std::fs::write(
            &path,
            "region = \"eu-west-1\"\nshard-limit = 7\nlisten = \"127.0.0.1:9999\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            listen: Some("127.0.0.1:1234".into()),
            ..Default::default()
        };
        let s = settings(args).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1234");
        assert_eq!(s.engine.region, "eu-west-1");
        assert_eq!(s.engine.shard_limit, 7);
        assert_eq!(s.engine.account, "000000000000");
        assert_eq!(s.engine.data_dir, PathBuf::from("rheo-data"));
        assert_eq!(s.engine.log.durability, Durability::Fsync);
        assert_eq!(s.engine.throughput_limits, rheo_engine::throttle::LimitsProfile::Off);
        assert!(s.server.faults.is_empty());
        assert_eq!(s.server.max_connections, 4096);
        assert!(s.server.regions.is_empty());
    }

    #[test]
    fn hardening_settings_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rheo.toml");
        std::fs::write(
            &path,
            "regions = [\"eu-west-1\"]\nmax-connections = 10\nidle-timeout-ms = 5000\n[admin-credential]\naccess-key-id = \"ADMIN\"\nsecret-access-key = \"s\"\n",
        )
        .unwrap();
        let s = settings(ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.server.regions, ["eu-west-1"]);
        assert_eq!(s.server.max_connections, 10);
        assert_eq!(s.server.idle_timeout, std::time::Duration::from_secs(5));
        assert_eq!(s.server.admin_credential.unwrap().access_key_id, "ADMIN");
        let s = settings(ServeArgs {
            config: Some(path),
            max_connections: Some(20),
            regions: vec!["ap-south-1".into()],
            admin_credential: Some("ROOT:pw".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.server.max_connections, 20);
        assert_eq!(s.server.regions, ["ap-south-1"]);
        assert_eq!(s.server.admin_credential.unwrap().access_key_id, "ROOT");
    }

    #[test]
    fn limits_and_faults_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rheo.toml");
        std::fs::write(
            &path,
            "throughput-limits = \"aws\"\n[[fault]]\noperation = \"GetRecords\"\nlatency-ms = 200\n",
        )
        .unwrap();
        let s = settings(ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.engine.throughput_limits, rheo_engine::throttle::LimitsProfile::Aws);
        assert_eq!(s.server.faults.len(), 1);
        assert_eq!(s.server.faults[0].latency_ms, 200);
        let s = settings(ServeArgs {
            config: Some(path),
            throughput_limits: Some("off".into()),
            faults: vec!["PutRecords:error-rate=0.05".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.engine.throughput_limits, rheo_engine::throttle::LimitsProfile::Off);
        assert_eq!(s.server.faults[0].operation, "PutRecords");
        assert_eq!(s.server.faults[0].error_rate, 0.05);
    }

    #[test]
    fn tls_is_self_signed_in_the_data_dir_or_from_files() {
        let s = settings(ServeArgs {
            data_dir: Some("d".into()),
            tls: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.server.tls, Some(TlsSource::SelfSigned { dir: "d/tls".into() }));
        let s = settings(ServeArgs {
            tls_cert: Some("c.pem".into()),
            tls_key: Some("k.pem".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            s.server.tls,
            Some(TlsSource::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        assert_eq!(settings(ServeArgs::default()).unwrap().server.tls, None);
        assert!(
            settings(ServeArgs {
                tls_cert: Some("c.pem".into()),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = |args: ServeArgs| settings(args).is_err();
        assert!(bad(ServeArgs {
            durability: Some("sometimes".into()),
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            account_id: Some("123".into()),
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            throughput_limits: Some("fast".into()),
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            faults: vec!["PutRecords:error-rate=7".into()],
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            on_corruption: Some("ignore".into()),
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            require_tls: true,
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            tenant_body_bytes: Some(1024),
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            regions: vec!["Not A Region".into()],
            ..Default::default()
        }));
        assert!(bad(ServeArgs {
            admin_credential: Some("nosecret".into()),
            ..Default::default()
        }));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rheo.toml");
        std::fs::write(&path, "no-such-setting = 1\n").unwrap();
        assert!(bad(ServeArgs {
            config: Some(path),
            ..Default::default()
        }));
    }
}
