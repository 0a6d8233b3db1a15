//! AWS Glue's data catalog (AWS JSON 1.1, `AWSGlue.*`): databases and tables of the tenant's
//! `rheo_delivery::glue::Glue`, the schemas delivery streams and queries read. Each action is a
//! line here (the catalog holds their logic); Glue's error names are below. The model's other
//! Glue operations answer InvalidInputException saying Rheo does not serve them.

use crate::error::ApiError;
use crate::ops::Node;
use crate::router::Reply;
use http::StatusCode;
use rheo_delivery::glue::{Glue, GlueError};
use serde_json::Value;

pub async fn dispatch(g: &Glue, action: &str, input: Node<'_>, now_ms: i64) -> Reply {
    let (g, action, input): (Glue, String, Value) = (g.clone(), action.to_owned(), crate::ops::parse(input)?);
    // Changes save the catalog (fsync): off the async threads.
    let out = tokio::task::spawn_blocking(move || match action.as_str() {
        "CreateDatabase" => g.create_database(&input, now_ms),
        "GetDatabase" => g.get_database(&input),
        "GetDatabases" => g.get_databases(&input),
        "DeleteDatabase" => g.delete_database(&input),
        "CreateTable" => g.create_table(&input, now_ms),
        "GetTable" => g.get_table(&input),
        "GetTables" => g.get_tables(&input),
        "DeleteTable" => g.delete_table(&input),
        other => Err(GlueError::InvalidInput(format!(
            "{other} is not served by Rheo: its Glue catalog serves databases and tables."
        ))),
    })
    .await
    .map_err(|_| ApiError::internal())?;
    crate::ops::json(&out.map_err(api_error)?)
}

/// Glue's error names.
pub fn api_error(e: GlueError) -> ApiError {
    let (kind, message) = match e {
        GlueError::AlreadyExists(m) => ("AlreadyExistsException", m),
        GlueError::EntityNotFound(m) => ("EntityNotFoundException", m),
        GlueError::InvalidInput(m) => ("InvalidInputException", m),
        GlueError::Internal(m) => {
            tracing::error!(error = %m, "internal failure");
            return ApiError {
                kind: "InternalServiceException",
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: Some("An internal error occurred.".into()),
                query_error: None,
            };
        }
    };
    ApiError::new(kind, message)
}
