//! Rheo's own settings over HTTP, under `/_rheo/`: fault injection and throughput limits, for
//! tests that change them while the server runs. Bodies are JSON; errors are
//! `{"message": ...}` with status 400 (bad body) or 404 (unknown path or stream).
//!
//! - `GET | PUT | DELETE /_rheo/faults`: the fault rules, a JSON array of
//!   `{"operation", "error-rate", "error", "latency-ms"}` (see [`crate::faults`]).
//! - `GET | PUT /_rheo/throughput-limits`: the server's profile, `{"profile": "off" | "aws"}`.
//! - `GET | PUT /_rheo/streams/{name}/throughput-limits`: a stream's own profile, or `null` to
//!   follow the server's.

use crate::body::ResponseBody;
use crate::faults::{FaultRule, Faults};
use bytes::Bytes;
use http::{Method, StatusCode};
use rheo_engine::Engine;
use rheo_engine::throttle::LimitsProfile;
use rheo_types::StreamName;
use serde::{Deserialize, Serialize};

pub const PREFIX: &str = "/_rheo/";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    profile: Option<LimitsProfile>,
}

type Answer = Result<serde_json::Value, (StatusCode, String)>;

pub fn handle(
    engine: &Engine,
    faults: &Faults,
    method: &Method,
    path: &str,
    body: &[u8],
) -> (StatusCode, ResponseBody) {
    let answer = route(
        engine,
        faults,
        method,
        path.strip_prefix(PREFIX).unwrap_or_default(),
        body,
    );
    let (status, value) = match answer {
        Ok(v) => (StatusCode::OK, v),
        Err((status, message)) => (status, serde_json::json!({ "message": message })),
    };
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    (status, ResponseBody::full(Bytes::from(bytes)))
}

fn route(engine: &Engine, faults: &Faults, method: &Method, path: &str, body: &[u8]) -> Answer {
    let bad = |e: String| (StatusCode::BAD_REQUEST, e);
    let segments: Vec<&str> = path.split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["faults"]) => Ok(serde_json::json!(*faults.rules())),
        (&Method::PUT, ["faults"]) => {
            let rules: Vec<FaultRule> = parse(body)?;
            faults.set(rules).map_err(bad)?;
            tracing::info!(rules = ?faults.rules(), "fault injection changed");
            Ok(serde_json::json!(*faults.rules()))
        }
        (&Method::DELETE, ["faults"]) => {
            faults.set(Vec::new()).map_err(bad)?;
            Ok(serde_json::json!([]))
        }
        (&Method::GET, ["throughput-limits"]) => Ok(serde_json::json!({ "profile": engine.default_limits() })),
        (&Method::PUT, ["throughput-limits"]) => {
            let Profile { profile } = parse(body)?;
            let profile = profile.ok_or_else(|| bad("profile must be \"off\" or \"aws\"".into()))?;
            engine.set_default_limits(profile);
            tracing::info!(?profile, "server throughput limits changed");
            Ok(serde_json::json!({ "profile": profile }))
        }
        (method, ["streams", name, "throughput-limits"]) => {
            let missing = || (StatusCode::NOT_FOUND, format!("stream {name} not found"));
            let name = StreamName::parse(name).map_err(|_| missing())?;
            if method == Method::PUT {
                let Profile { profile } = parse(body)?;
                engine.set_stream_limits(&name, profile).map_err(|_| missing())?;
            } else if method != Method::GET {
                return Err((StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed here")));
            }
            let profile = engine.stream_limits(&name).map_err(|_| missing())?;
            Ok(serde_json::json!({ "profile": profile }))
        }
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("no admin endpoint {method} {PREFIX}{path}"),
        )),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, (StatusCode, String)> {
    serde_json::from_slice(body).map_err(|e| (StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}
