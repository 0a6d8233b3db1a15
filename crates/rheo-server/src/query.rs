//! Requests in the AWS query protocol (form posts, or GETs, with `Action=`; XML responses), as
//! SQS clients from before its switch to JSON send them. The signature's scope names the
//! service; the form is read into the same tree a JSON request becomes (`rheo_wire::query`,
//! driven by the service's query model), checked against the service's model, and handled by
//! the same handler; its JSON output is written as XML.

use crate::auth;
use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::router;
use crate::server::{App, Conn, ids, read_body, request_id, request_parts, signed_headers, sqs_ctx};
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use rheo_wire::model::{SQS, SQS_QUERY};

pub(crate) async fn handle(app: &App, conn: &Conn, req: Request<Incoming>) -> Response<ResponseBody> {
    let id = request_id();
    let model = &*SQS_QUERY;
    match run(app, conn, req, &id).await {
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

async fn run(app: &App, conn: &Conn, req: Request<Incoming>, id: &str) -> Result<String, ApiError> {
    let (parts, body) = req.into_parts();
    let headers = signed_headers(&parts);
    let signed = request_parts(&parts, &headers);
    let now = app.tenants.default_tenant().engine.now();
    // Only SQS speaks the query protocol here (SNS will); the scope says which is meant.
    let pending = auth::authenticate_headers(&app.auth, &signed, now, conn.tls, "sqs")?;
    let tenant = app.tenants.get(&pending.tenant)?;
    let (body, _charge) = read_body(app, conn, &tenant, &parts, body).await?;
    pending.verify_body(&signed, &body)?;
    let params = rheo_wire::query::params(parts.uri.query(), &body).map_err(|e| invalid_query(&e))?;
    let action = params.get("Action").cloned().unwrap_or_default();
    let (Some(op), Some(json_op)) = (SQS_QUERY.operation(&action), SQS.operation(&action)) else {
        return Err(ApiError {
            kind: "InvalidAction",
            status: StatusCode::BAD_REQUEST,
            message: Some(format!("The action {action} is not valid for this endpoint.")),
            query_error: Some("InvalidAction;Sender".into()),
        });
    };
    let input = rheo_wire::query::input(&SQS_QUERY, op, &params);
    let input = router::check_node(&SQS, json_op, input)?;
    let ctx = sqs_ctx(conn, &tenant, &parts)?;
    let json = crate::ops::sqs::dispatch(&ctx, &action, input).await?;
    let output: serde_json::Value = if json.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_slice(&json).map_err(|_| ApiError::internal())?
    };
    Ok(rheo_wire::query::response(&SQS_QUERY, op, &output, id))
}

fn invalid_query(reason: &str) -> ApiError {
    ApiError {
        kind: "MalformedQueryString",
        status: StatusCode::BAD_REQUEST,
        message: Some(format!("The request could not be read: {reason}.")),
        query_error: Some("MalformedQueryString;Sender".into()),
    }
}

/// The query code and fault of an error: the one SQS sends in `x-amzn-query-error`, or the
/// error's name.
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
