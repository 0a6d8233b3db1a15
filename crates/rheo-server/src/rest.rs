//! Requests in the REST protocols (rest-json: Lambda). The signature's scope names the
//! service, its model's URI templates name the operation (`rheo_wire::rest`), and the input is
//! one tree built from the path's labels, the query string, the headers and the JSON body,
//! checked against the model like any JSON request. Authentication and admission are the
//! shared ones: the signature is checked from the headers before the body is read.

use crate::auth;
use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::router;
use crate::server::{App, Conn, ids, read_body, request_id, request_parts, signed_headers};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use rheo_wire::model::{LAMBDA, Model, Node};
use rheo_wire::rest::{self, Routes};
use std::sync::LazyLock;

static LAMBDA_ROUTES: LazyLock<Routes> = LazyLock::new(|| Routes::new(&LAMBDA));

/// A service spoken over a REST protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestService {
    Lambda,
}

impl RestService {
    fn model(self) -> &'static Model {
        match self {
            RestService::Lambda => &LAMBDA,
        }
    }

    fn routes(self) -> &'static Routes {
        match self {
            RestService::Lambda => &LAMBDA_ROUTES,
        }
    }

    fn signing_name(self) -> &'static str {
        match self {
            RestService::Lambda => "lambda",
        }
    }
}

/// The REST service a request is signed for, if any (from its Authorization header).
pub fn service_of(req: &Request<Incoming>) -> Option<RestService> {
    let auth = req.headers().get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    let scope: Vec<&str> = credential.split([',', ' ']).next()?.split('/').collect();
    match scope.get(3).copied() {
        Some("lambda") => Some(RestService::Lambda),
        _ => None,
    }
}

pub async fn handle(app: &App, conn: &Conn, req: Request<Incoming>, service: RestService) -> Response<ResponseBody> {
    let id = request_id();
    match run(app, conn, req, service).await {
        Ok(reply) => {
            let mut resp = Response::new(ResponseBody::full(reply.body));
            *resp.status_mut() = reply.status;
            let h = resp.headers_mut();
            for (k, v) in reply.headers {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            }
            finish(h, &id);
            resp
        }
        Err(e) => {
            let mut resp = Response::new(ResponseBody::full(crate::ops::lambda::error::body(&e)));
            *resp.status_mut() = e.status;
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(e.kind) {
                h.insert("x-amzn-errortype", v);
            }
            h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            finish(h, &id);
            resp
        }
    }
}

fn finish(h: &mut http::HeaderMap, id: &str) {
    ids(h);
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("x-amzn-requestid", v);
    }
}

async fn run(
    app: &App,
    conn: &Conn,
    req: Request<Incoming>,
    service: RestService,
) -> Result<crate::ops::lambda::Reply, ApiError> {
    let (parts, body) = req.into_parts();
    let query = rest::query_params(parts.uri.query());
    let Some((action, labels)) = service.routes().find(parts.method.as_str(), parts.uri.path(), &query) else {
        return Err(unknown(&parts));
    };
    let action = action.to_owned();
    let served = match service {
        RestService::Lambda => crate::ops::lambda::serves(&action),
    };
    if !served {
        return Err(unknown(&parts));
    }
    let headers = signed_headers(&parts);
    let signed = request_parts(&parts, &headers);
    let now = app.tenants.default_tenant().engine.now();
    let pending = auth::authenticate_headers(&app.auth, &signed, now, conn.tls, service.signing_name())?;
    let tenant = app.tenants.get(&pending.tenant)?;
    let (body, _charge) = read_body(app, conn, &tenant, &parts, body).await?;
    pending.verify_body(&signed, &body)?;
    let model = service.model();
    let op = model.operation(&action).ok_or_else(ApiError::unknown_operation)?;
    let lower: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let json_body = if rest::has_body_members(model, op) && !body.is_empty() {
        Some(Node::parse(&body).map_err(|_| ApiError::serialization_without_message())?)
    } else {
        None
    };
    let rest_parts = rest::Parts {
        labels: &labels,
        query: &query,
        headers: &lower,
    };
    let tree = rest::input_tree(model, op, &rest_parts, json_body);
    let input = router::check_node(model, op, tree)?;
    match service {
        RestService::Lambda => {
            let ctx = crate::ops::lambda::Ctx {
                functions: tenant.functions()?,
                body: Bytes::from(body.to_vec()),
                tenant: tenant.clone(),
            };
            crate::ops::lambda::dispatch(&ctx, &action, input).await
        }
    }
}

fn unknown(parts: &http::request::Parts) -> ApiError {
    ApiError {
        kind: "UnknownOperationException",
        status: StatusCode::BAD_REQUEST,
        message: Some(format!("No operation at {} {}", parts.method, parts.uri.path())),
        query_error: None,
    }
}
