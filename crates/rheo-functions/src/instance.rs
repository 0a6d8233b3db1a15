//! One execution environment: a local process running a function's runtime, and the Lambda
//! Runtime API (2018-06-01) it talks to, served on its own loopback port
//! (`AWS_LAMBDA_RUNTIME_API`), since runtime clients name only a host and port.
//!
//! The runtime long-polls `GET /runtime/invocation/next`; Rheo hands it one invocation at a
//! time and waits for `POST /runtime/invocation/{id}/response` or `/error`. An error posted
//! to `/runtime/init/error` before the first poll is kept and reported when the process exits.
//! Real clients differ: awslambdaric sends no `Lambda-Runtime-Function-Error-Type` header, so
//! none is required.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// The largest response a function may return (Lambda's 6 MB for synchronous invocations).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Log bytes kept for `LogType=Tail`.
pub const TAIL_BYTES: usize = 4096;

/// An invocation handed to a runtime.
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: i64,
    pub function_arn: String,
    pub client_context: Option<String>,
    pub trace_id: String,
    pub done: oneshot::Sender<Outcome>,
}

/// What the runtime answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response(Bytes),
    /// An error posted for the invocation: its body and `Lambda-Runtime-Function-Error-Type`.
    Error {
        body: Bytes,
        error_type: Option<String>,
    },
    /// The response was over [`MAX_RESPONSE_BYTES`].
    TooLarge,
}

/// How to start a process.
pub struct Spawn {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// Where its output goes: `(group, stream)` of the function's logs.
    pub logs: crate::logs::Logs,
    pub group: String,
    pub stream: String,
    pub clock: Arc<dyn rheo_types::clock::Clock>,
}

/// Shared between the Runtime API server, the output readers and the invoker.
struct Shared {
    invocations: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    current: Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
    init_error: Mutex<Option<Bytes>>,
    /// Signalled at each poll of `/next`.
    polled: Notify,
    polls: AtomicI64,
    /// The current invocation's log lines (the last [`TAIL_BYTES`]), while one is running.
    tail: Mutex<Option<String>>,
    /// How many lines the process has printed.
    lines_printed: AtomicI64,
}

/// A running process and its Runtime API.
pub struct Instance {
    pub stream: String,
    tx: mpsc::Sender<Invocation>,
    shared: Arc<Shared>,
    exited: watch::Receiver<Option<String>>,
    kill: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
    pid: Option<u32>,
    pub started: std::time::Instant,
    /// Set the moment the environment must not be reused (killed, crashed, broke the protocol).
    dead: std::sync::atomic::AtomicBool,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
        self.server.abort();
    }
}

/// Why an instance could not take an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The process exited: its init error's body if it posted one, and how it exited.
    Exited { init_error: Option<Bytes>, status: String },
    /// It did not poll for an invocation in time.
    InitTimeout,
    /// Deadline passed: the process was killed.
    Timeout,
    /// It could not be started at all.
    Start(String),
}

impl Instance {
    /// Starts the process and waits (up to `init_timeout`) until its runtime polls for work.
    pub async fn start(spawn: Spawn, init_timeout: Duration) -> Result<Instance, Failure> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Failure::Start(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| Failure::Start(e.to_string()))?;
        let (tx, rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            invocations: tokio::sync::Mutex::new(rx),
            current: Mutex::new(None),
            init_error: Mutex::new(None),
            polled: Notify::new(),
            polls: AtomicI64::new(0),
            tail: Mutex::new(None),
            lines_printed: AtomicI64::new(0),
        });
        let server = tokio::spawn(serve(listener, shared.clone()));
        let mut cmd = tokio::process::Command::new(&spawn.program);
        cmd.args(&spawn.args)
            .current_dir(&spawn.cwd)
            .env_clear()
            .envs(spawn.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // Its own process group: a timeout kills what the runtime started too.
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                server.abort();
                return Err(Failure::Start(format!("{}: {e}", spawn.program.display())));
            }
        };
        let pid = child.id();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(read_lines(out, shared.clone(), log_sink(&spawn))));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(read_lines(err, shared.clone(), log_sink(&spawn))));
        }
        let kill = Arc::new(Notify::new());
        let (exit_tx, exited) = watch::channel(None);
        let killer = kill.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                s = child.wait() => s,
                () = killer.notified() => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            // The last lines are logged before the exit is reported.
            for r in readers {
                let _ = tokio::time::timeout(Duration::from_millis(200), r).await;
            }
            let text = match status {
                Ok(s) => match s.code() {
                    Some(code) => format!("exit status {code}"),
                    None => "signal: killed".to_owned(),
                },
                Err(e) => e.to_string(),
            };
            let _ = exit_tx.send(Some(text));
        });
        let instance = Instance {
            stream: spawn.stream,
            tx,
            shared,
            exited,
            kill,
            server,
            pid,
            started: std::time::Instant::now(),
            dead: std::sync::atomic::AtomicBool::new(false),
        };
        let first_poll = async {
            while instance.shared.polls.load(Ordering::SeqCst) == 0 {
                let polled = instance.shared.polled.notified();
                if instance.shared.polls.load(Ordering::SeqCst) > 0 {
                    break;
                }
                polled.await;
            }
        };
        let mut exited = instance.exited.clone();
        tokio::select! {
            () = first_poll => Ok(instance),
            status = wait_exit(&mut exited) => Err(Failure::Exited {
                init_error: instance.shared.init_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                status,
            }),
            () = tokio::time::sleep(init_timeout) => Err(Failure::InitTimeout),
        }
    }

    /// Whether the process is still running and may take another invocation.
    pub fn alive(&self) -> bool {
        !self.dead.load(Ordering::SeqCst) && self.exited.borrow().is_none()
    }

    /// Kills the process and everything in its group; it is never reused.
    fn stop(&self) {
        self.dead.store(true, Ordering::SeqCst);
        // Only while the leader runs: once it is reaped its id may name another group.
        let running = self.exited.borrow().is_none();
        if let Some(pid) = self
            .pid
            .filter(|_| running)
            .and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        self.kill.notify_one();
    }

    /// Runs one invocation: hands it to the runtime and waits for its answer until
    /// `deadline`; past it the process is killed. The log lines printed meanwhile are
    /// returned with the outcome.
    pub async fn invoke(&self, inv: Invocation, deadline: tokio::time::Instant) -> (Result<Outcome, Failure>, String) {
        *self.shared.tail.lock().unwrap_or_else(|p| p.into_inner()) = Some(String::new());
        let (done_tx, done_rx) = oneshot::channel();
        let inv = Invocation { done: done_tx, ..inv };
        let mut exited = self.exited.clone();
        let result = if self.tx.send(inv).await.is_err() {
            Err(Failure::Exited {
                init_error: None,
                status: "the runtime API stopped".into(),
            })
        } else {
            tokio::select! {
                r = done_rx => r.map_err(|_| Failure::Exited { init_error: None, status: "the runtime asked for another invocation without answering".into() }),
                status = wait_exit(&mut exited) => Err(Failure::Exited { init_error: None, status }),
                () = tokio::time::sleep_until(deadline) => {
                    self.stop();
                    Err(Failure::Timeout)
                }
            }
        };
        if result.is_err() {
            self.dead.store(true, Ordering::SeqCst);
        }
        self.settle_output().await;
        let tail = self
            .shared
            .tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        (result, tail)
    }

    /// Lets lines printed just before the answer reach the log: waits until the process has
    /// printed nothing for 5 ms, at most 50 ms.
    async fn settle_output(&self) {
        for _ in 0..10 {
            let before = self.shared.lines_printed.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            if self.shared.lines_printed.load(Ordering::SeqCst) == before {
                return;
            }
        }
    }

    /// The process's peak resident memory (VmHWM), in MB, if the system tells.
    pub fn max_memory_mb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb.div_ceil(1024))
    }
}

async fn wait_exit(exited: &mut watch::Receiver<Option<String>>) -> String {
    loop {
        if let Some(s) = exited.borrow().clone() {
            return s;
        }
        if exited.changed().await.is_err() {
            return "exited".into();
        }
    }
}

type Sink = Box<dyn Fn(String) + Send + Sync>;

fn log_sink(spawn: &Spawn) -> Sink {
    let (logs, group, stream, clock) = (
        spawn.logs.clone(),
        spawn.group.clone(),
        spawn.stream.clone(),
        spawn.clock.clone(),
    );
    Box::new(move |line| logs.append(&group, &stream, clock.now_ms(), line))
}

/// The longest line kept (CloudWatch Logs' event limit); the rest of a longer line is dropped.
const MAX_LINE_BYTES: usize = 256 * 1024;

/// Reads a process's output line by line, whatever its bytes (invalid UTF-8 is replaced), so
/// the pipe never closes while the process runs.
async fn read_lines(out: impl tokio::io::AsyncRead + Unpin, shared: Arc<Shared>, sink: Sink) {
    use tokio::io::AsyncReadExt;
    let mut reader = BufReader::new(out);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let mut limited = (&mut reader).take(MAX_LINE_BYTES as u64);
        match limited.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if buf.last() != Some(&b'\n') && buf.len() >= MAX_LINE_BYTES {
            // Skip the rest of an overlong line.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                match (&mut reader)
                    .take(MAX_LINE_BYTES as u64)
                    .read_until(b'\n', &mut rest)
                    .await
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) if rest.last() == Some(&b'\n') => break,
                    Ok(_) => {}
                }
            }
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']).to_owned();
        shared.lines_printed.fetch_add(1, Ordering::SeqCst);
        if let Some(tail) = shared.tail.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            push_tail(tail, &line);
        }
        sink(line);
    }
}

/// Appends a line to a tail, keeping its last [`TAIL_BYTES`] bytes (at a character boundary).
pub fn push_tail(tail: &mut String, line: &str) {
    tail.push_str(line);
    tail.push('\n');
    if tail.len() > TAIL_BYTES {
        let mut cut = tail.len() - TAIL_BYTES;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail.drain(..cut);
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

const PREFIX: &str = "/2018-06-01/runtime/";

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn api_error(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        &serde_json::json!({"errorMessage": message, "errorType": kind}).to_string(),
    )
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(api_error(StatusCode::NOT_FOUND, "InvalidRequest", "Unknown path"));
    };
    let method = req.method().clone();
    Ok(match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(&shared).await,
        (Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let error_type = req
                .headers()
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let id = (*id).to_owned();
            let error = *kind == "error";
            let body = Limited::new(req.into_body(), MAX_RESPONSE_BYTES).collect().await;
            let outcome = match body {
                Ok(b) if error => Outcome::Error {
                    body: b.to_bytes(),
                    error_type,
                },
                Ok(b) => Outcome::Response(b.to_bytes()),
                Err(_) => Outcome::TooLarge,
            };
            answer(&shared, &id, outcome)
        }
        (Method::POST, ["init", "error"]) => {
            let body = Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            *shared.init_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(body);
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => api_error(StatusCode::NOT_FOUND, "InvalidRequest", "Unknown path"),
    })
}

/// `GET /runtime/invocation/next`: waits for the next invocation.
async fn next(shared: &Shared) -> Response<Full<Bytes>> {
    shared.polls.fetch_add(1, Ordering::SeqCst);
    shared.polled.notify_waiters();
    let inv = shared.invocations.lock().await.recv().await;
    let Some(inv) = inv else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "The environment is shutting down",
        );
    };
    let mut r = Response::new(Full::new(inv.payload.clone()));
    let h = r.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &inv.request_id);
    set("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &inv.function_arn);
    set("lambda-runtime-trace-id", &inv.trace_id);
    if let Some(c) = &inv.client_context {
        set("lambda-runtime-client-context", c);
    }
    *shared.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((inv.request_id, inv.done));
    r
}

/// `POST /runtime/invocation/{id}/response` or `/error`.
fn answer(shared: &Shared, id: &str, outcome: Outcome) -> Response<Full<Bytes>> {
    let mut current = shared.current.lock().unwrap_or_else(|p| p.into_inner());
    match current.take() {
        Some((want, done)) if want == id => {
            let too_large = outcome == Outcome::TooLarge;
            let _ = done.send(outcome);
            if too_large {
                return api_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                );
            }
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        other => {
            *current = other;
            api_error(StatusCode::BAD_REQUEST, "InvalidRequestID", "Invalid request ID")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_last_bytes() {
        let mut t = String::new();
        for i in 0..1000 {
            push_tail(&mut t, &format!("line {i}"));
        }
        assert!(t.len() <= TAIL_BYTES);
        assert!(t.ends_with("line 999\n"));
        let mut u = String::new();
        push_tail(&mut u, &"é".repeat(3000));
        assert!(u.len() <= TAIL_BYTES);
    }
}
