//! Requests in the AWS query protocol (form posts, or GETs, with `Action=`; XML responses): SNS,
//! and SQS as clients from before its switch to JSON send it. The signature's scope names the
//! service; the form is read into the same tree a JSON request becomes (`rheo_wire::query`,
//! driven by the service's query model), checked against the service's model, and handled by
//! the service's handler; its JSON output is written as XML.
//!
//! One kind of request needs no signature, as on AWS: the SubscribeURL and UnsubscribeURL that
//! SNS puts in the messages it sends (a GET with `Action=ConfirmSubscription` and the token, or
//! `Action=Unsubscribe` and the subscription's ARN); the ARN names the tenant.

use crate::auth::{self, Tenant, TenantState};
use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::router;
use crate::server::{App, Conn, base_url, ids, read_body, request_id, request_parts, signed_headers, sqs_ctx};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use rheo_wire::model::{Model, SNS, SQS, SQS_QUERY};

#[derive(Clone, Copy, PartialEq, Eq)]
enum QueryService {
    Sqs,
    Sns,
}

impl QueryService {
    /// The model its forms and XML are read and written by.
    fn wire(self) -> &'static Model {
        match self {
            QueryService::Sqs => &SQS_QUERY,
            QueryService::Sns => &SNS,
        }
    }
    /// The model its requests are checked against.
    fn check(self) -> &'static Model {
        match self {
            QueryService::Sqs => &SQS,
            QueryService::Sns => &SNS,
        }
    }
}

pub(crate) async fn handle(app: &App, conn: &Conn, req: Request<Incoming>) -> Response<ResponseBody> {
    let id = request_id();
    let headers = signed_headers_of(&req);
    let service = scope_service(&req, &headers);
    let model = service.unwrap_or(QueryService::Sqs).wire();
    match run(app, conn, req, service, &id).await {
        Ok(xml) => respond(StatusCode::OK, xml, &id),
        Err(e) => {
            let (code, fault) = query_code(&e);
            let message = match code.as_str() {
                // Over the query protocol SQS words this one differently (recorded).
                "AWS.SimpleQueueService.NonExistentQueue" => {
                    Some("The specified queue does not exist for this wsdl version.".to_owned())
                }
                _ => e.message.clone(),
            };
            respond(
                e.status,
                rheo_wire::query::error(model, &fault, &code, message.as_deref(), &id),
                &id,
            )
        }
    }
}

fn signed_headers_of(req: &Request<Incoming>) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

/// The service a request's signature is scoped to (`sqs`, `sns`); `None` for an unsigned
/// request.
fn scope_service(req: &Request<Incoming>, headers: &[(String, String)]) -> Option<QueryService> {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let parts = rheo_wire::sigv4::RequestParts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: &headers,
    };
    match rheo_wire::sigv4::parse(&parts).ok()?.scope.service.as_str() {
        "sns" => Some(QueryService::Sns),
        _ => Some(QueryService::Sqs),
    }
}

async fn run(
    app: &App,
    conn: &Conn,
    req: Request<Incoming>,
    service: Option<QueryService>,
    id: &str,
) -> Result<String, ApiError> {
    let (parts, body) = req.into_parts();
    let Some(service) = service else {
        return unsigned(app, conn, &parts, id).await;
    };
    let headers = signed_headers(&parts);
    let signed = request_parts(&parts, &headers);
    let now = app.tenants.default_tenant().engine.now();
    let name = if service == QueryService::Sns { "sns" } else { "sqs" };
    let pending = auth::authenticate_headers(&app.auth, &signed, now, conn.tls, name)?;
    let tenant = app.tenants.get(&pending.tenant)?;
    let (body, _charge) = read_body(app, conn, &tenant, &parts, body).await?;
    pending.verify_body(&signed, &body)?;
    let params = rheo_wire::query::params(parts.uri.query(), &body).map_err(|e| invalid_query(&e))?;
    dispatch(conn, &tenant, &parts, service, &params, id).await
}

/// A SubscribeURL or UnsubscribeURL followed: a GET with no signature.
async fn unsigned(app: &App, conn: &Conn, parts: &http::request::Parts, id: &str) -> Result<String, ApiError> {
    let params = rheo_wire::query::params(parts.uri.query(), b"").map_err(|e| invalid_query(&e))?;
    let action = params.get("Action").map(String::as_str).unwrap_or_default();
    let arn = match action {
        "ConfirmSubscription" => params.get("TopicArn"),
        "Unsubscribe" => params.get("SubscriptionArn"),
        _ => None,
    };
    let fields: Vec<&str> = arn.map(|a| a.split(':').collect()).unwrap_or_default();
    let (Some(&"sns"), Some(region), Some(account), true) =
        (fields.get(2), fields.get(3), fields.get(4), parts.method == Method::GET)
    else {
        return Err(ApiError {
            kind: "MissingAuthenticationToken",
            status: StatusCode::FORBIDDEN,
            message: Some("Request is missing Authentication Token".into()),
            query_error: Some("MissingAuthenticationToken;Sender".into()),
        });
    };
    let tenant = Tenant {
        account: (*account).to_owned(),
        region: (*region).to_owned(),
    };
    // Unsigned, so it never opens a tenant (or makes its directories): only one that is open,
    // as it is while its topics are used.
    let Some(tenant) = app.tenants.get_open(&tenant) else {
        return Err(invalid_query("the ARN names no account and region open on this server"));
    };
    dispatch(conn, &tenant, parts, QueryService::Sns, &params, id).await
}

async fn dispatch(
    conn: &Conn,
    tenant: &TenantState,
    parts: &http::request::Parts,
    service: QueryService,
    params: &rheo_wire::query::Params,
    id: &str,
) -> Result<String, ApiError> {
    let action = params.get("Action").cloned().unwrap_or_default();
    let wire = service.wire();
    let served = match service {
        QueryService::Sqs => true,
        QueryService::Sns => crate::ops::sns::serves(&action),
    };
    let (Some(op), Some(check_op), true) = (wire.operation(&action), service.check().operation(&action), served) else {
        return Err(ApiError {
            kind: "InvalidAction",
            status: StatusCode::BAD_REQUEST,
            message: Some(format!("The action {action} is not valid for this endpoint.")),
            query_error: Some("InvalidAction;Sender".into()),
        });
    };
    let input = rheo_wire::query::input(wire, op, params);
    let input = router::check_node(service.check(), check_op, input)?;
    let json = match service {
        QueryService::Sqs => {
            let ctx = sqs_ctx(conn, tenant, parts)?;
            crate::ops::sqs::dispatch(&ctx, &action, input).await?
        }
        QueryService::Sns => {
            let ctx = crate::ops::sns::Ctx {
                sns: tenant.sns()?,
                base_url: base_url(conn, parts),
            };
            crate::ops::sns::dispatch(&ctx, &action, input).await?
        }
    };
    let output: serde_json::Value = if json.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_slice(&json).map_err(|_| ApiError::internal())?
    };
    Ok(rheo_wire::query::response(wire, op, &output, id))
}

fn invalid_query(reason: &str) -> ApiError {
    ApiError {
        kind: "MalformedQueryString",
        status: StatusCode::BAD_REQUEST,
        message: Some(format!("The request could not be read: {reason}.")),
        query_error: Some("MalformedQueryString;Sender".into()),
    }
}

/// The query code and fault of an error: the one the service sends in `x-amzn-query-error`,
/// or the error's name.
fn query_code(e: &ApiError) -> (String, String) {
    let fault = if e.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    match e.query_error.as_deref().and_then(|q| q.split_once(';')) {
        Some((code, fault)) => (code.to_owned(), fault.to_owned()),
        None => (e.kind.to_owned(), fault.to_owned()),
    }
}

fn respond(status: StatusCode, xml: String, id: &str) -> Response<ResponseBody> {
    let mut resp = Response::new(ResponseBody::full(xml.into_bytes()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    ids(h);
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("x-amzn-requestid", v);
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}
