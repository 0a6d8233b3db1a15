//! One module per Lambda action (rest-json), plus what they share: the reply (status, headers,
//! body), the FunctionConfiguration writer, and the function a FunctionName names.

pub mod create_event_source_mapping;
pub mod create_function;
pub mod delete_event_source_mapping;
pub mod delete_function;
pub mod error;
pub mod event_invoke_config;
pub mod event_source_mappings;
pub mod function_concurrency;
pub mod get_account_settings;
pub mod get_event_source_mapping;
pub mod get_function;
pub mod get_function_configuration;
pub mod invoke;
pub mod list_event_source_mappings;
pub mod list_functions;
pub mod tags;
pub mod update_event_source_mapping;
pub mod update_function_code;
pub mod update_function_configuration;

pub use crate::ops::{Node, parse};
pub use error::api_error;

use crate::error::ApiError;
use bytes::Bytes;
use http::StatusCode;
use rheo_functions::{FunctionView, Functions, State};

/// What a Lambda handler knows of its request besides the checked input.
pub struct Ctx {
    pub functions: Functions,
    /// The raw body, for the actions whose body is their payload (Invoke).
    pub body: Bytes,
    pub tenant: std::sync::Arc<crate::auth::TenantState>,
}

impl Ctx {
    /// The tenant's event source mappings (opened on first use).
    pub fn mappings(&self) -> Result<rheo_connect::Mappings> {
        self.tenant.mappings()
    }
}

/// A rest-json answer.
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Reply {
    pub fn json(status: u16, v: &serde_json::Value) -> Result<Reply> {
        Ok(Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers: vec![("content-type", "application/json".into())],
            body: Bytes::from(v.to_string()),
        })
    }

    pub fn empty(status: u16) -> Result<Reply> {
        Ok(Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT),
            headers: Vec::new(),
            body: Bytes::new(),
        })
    }
}

pub type Result<T> = std::result::Result<T, ApiError>;

/// The actions served; the rest of the model answers UnknownOperationException.
pub fn serves(action: &str) -> bool {
    matches!(
        action,
        "CreateFunction"
            | "DeleteFunction"
            | "GetFunction"
            | "GetFunctionConfiguration"
            | "ListFunctions"
            | "UpdateFunctionCode"
            | "UpdateFunctionConfiguration"
            | "Invoke"
            | "PutFunctionConcurrency"
            | "GetFunctionConcurrency"
            | "DeleteFunctionConcurrency"
            | "PutFunctionEventInvokeConfig"
            | "UpdateFunctionEventInvokeConfig"
            | "GetFunctionEventInvokeConfig"
            | "DeleteFunctionEventInvokeConfig"
            | "TagResource"
            | "UntagResource"
            | "ListTags"
            | "GetAccountSettings"
            | "CreateEventSourceMapping"
            | "GetEventSourceMapping"
            | "ListEventSourceMappings"
            | "UpdateEventSourceMapping"
            | "DeleteEventSourceMapping"
    )
}

/// Runs a Lambda action on a checked request.
pub async fn dispatch(ctx: &Ctx, action: &str, input: Node<'_>) -> Result<Reply> {
    match action {
        "CreateFunction" => create_function::handle(ctx, input).await,
        "DeleteFunction" => delete_function::handle(ctx, input).await,
        "GetFunction" => get_function::handle(ctx, input).await,
        "GetFunctionConfiguration" => get_function_configuration::handle(ctx, input).await,
        "ListFunctions" => list_functions::handle(ctx, input).await,
        "UpdateFunctionCode" => update_function_code::handle(ctx, input).await,
        "UpdateFunctionConfiguration" => update_function_configuration::handle(ctx, input).await,
        "Invoke" => invoke::handle(ctx, input).await,
        "PutFunctionConcurrency" => function_concurrency::put(ctx, input).await,
        "GetFunctionConcurrency" => function_concurrency::get(ctx, input).await,
        "DeleteFunctionConcurrency" => function_concurrency::delete(ctx, input).await,
        "PutFunctionEventInvokeConfig" => event_invoke_config::put(ctx, input, false).await,
        "UpdateFunctionEventInvokeConfig" => event_invoke_config::put(ctx, input, true).await,
        "GetFunctionEventInvokeConfig" => event_invoke_config::get(ctx, input).await,
        "DeleteFunctionEventInvokeConfig" => event_invoke_config::delete(ctx, input).await,
        "TagResource" => tags::tag(ctx, input).await,
        "UntagResource" => tags::untag(ctx, input).await,
        "ListTags" => tags::list(ctx, input).await,
        "GetAccountSettings" => get_account_settings::handle(ctx).await,
        "CreateEventSourceMapping" => create_event_source_mapping::handle(ctx, input).await,
        "GetEventSourceMapping" => get_event_source_mapping::handle(ctx, input).await,
        "ListEventSourceMappings" => list_event_source_mappings::handle(ctx, input).await,
        "UpdateEventSourceMapping" => update_event_source_mapping::handle(ctx, input).await,
        "DeleteEventSourceMapping" => delete_event_source_mapping::handle(ctx, input).await,
        _ => Err(ApiError::unknown_operation()),
    }
}

/// The function a FunctionName names; only `$LATEST` is a qualifier that exists.
pub fn function_name(ctx: &Ctx, given: &str, qualifier: Option<&str>) -> Result<String> {
    let (name, q) = ctx.functions.resolve(given).map_err(api_error)?;
    if let Some(q) = q.as_deref().or(qualifier).filter(|q| *q != "$LATEST") {
        return Err(api_error(rheo_functions::FunctionError::NotFound(format!(
            "Function not found: {}:{q}",
            ctx.functions.function_arn(&name)
        ))));
    }
    Ok(name)
}

/// Sets a member of a JSON object.
pub fn set(v: &mut serde_json::Value, key: &str, value: impl Into<serde_json::Value>) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value.into());
    }
}

/// Lambda's timestamps: `2026-12-07T03:05:14.000+0000`.
pub fn lambda_time(ms: i64) -> String {
    let iso = rheo_functions::service::iso8601(ms);
    format!("{}+0000", iso.trim_end_matches('Z'))
}

/// A FunctionConfiguration, as Lambda writes it.
pub fn configuration(v: &FunctionView) -> serde_json::Value {
    let d = &v.def;
    let mut c = serde_json::json!({
        "FunctionName": d.name,
        "FunctionArn": v.arn,
        "Runtime": d.runtime,
        "Role": d.role,
        "Handler": d.handler,
        "CodeSize": d.code_size,
        "Description": d.description,
        "Timeout": d.timeout_s,
        "MemorySize": d.memory_mb,
        "LastModified": lambda_time(d.last_modified_ms),
        "CodeSha256": d.code_sha256,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": d.revision_id,
        "PackageType": "Zip",
        "Architectures": [d.architecture],
        "EphemeralStorage": {"Size": d.ephemeral_storage_mb},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", d.name)},
    });
    if !d.environment.is_empty() {
        set(&mut c, "Environment", serde_json::json!({"Variables": d.environment}));
    }
    if let Some(t) = &d.dead_letter_target {
        set(&mut c, "DeadLetterConfig", serde_json::json!({"TargetArn": t}));
    }
    match &v.state {
        State::Active => {
            set(&mut c, "State", "Active");
            set(&mut c, "LastUpdateStatus", "Successful");
        }
        State::Pending => {
            set(&mut c, "State", "Pending");
            set(&mut c, "StateReason", "The function is being created.");
            set(&mut c, "StateReasonCode", "Creating");
            set(&mut c, "LastUpdateStatus", "InProgress");
        }
        State::Failed { reason, code } => {
            set(&mut c, "State", "Failed");
            set(&mut c, "StateReason", reason.clone());
            set(&mut c, "StateReasonCode", *code);
            set(&mut c, "LastUpdateStatus", "Failed");
            set(&mut c, "LastUpdateStatusReason", reason.clone());
            set(&mut c, "LastUpdateStatusReasonCode", *code);
        }
    }
    c
}
