//! CreateFunction: a function from a zip package (ZipFile); Pending until its runtime is
//! ready.

use super::{Ctx, Node, Reply, Result, api_error, configuration, parse};
use rheo_functions::{FunctionError, NewFunction};
use rheo_wire::lambda::CreateFunctionInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: CreateFunctionInput = parse(input)?;
    if i.package_type.as_deref() == Some("Image") || i.code.image_uri.is_some() {
        return Err(api_error(FunctionError::InvalidParameter(
            "Rheo runs zip packages only: container images (PackageType Image) are not supported.".into(),
        )));
    }
    if i.code.s3_bucket.is_some() || i.code.s3_key.is_some() {
        return Err(api_error(FunctionError::InvalidParameter(
            "Rheo takes code as ZipFile for now: S3Bucket and S3Key are not supported yet.".into(),
        )));
    }
    if i.layers.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(api_error(FunctionError::InvalidParameter(
            "Rheo does not support layers.".into(),
        )));
    }
    let (name, _) = ctx.functions.resolve(&i.function_name).map_err(api_error)?;
    let view = ctx
        .functions
        .create(NewFunction {
            name,
            runtime: i.runtime,
            handler: i.handler,
            role: i.role,
            description: i.description,
            timeout_s: i.timeout,
            memory_mb: i.memory_size,
            environment: i.environment.and_then(|e| e.variables),
            zip: i.code.zip_file.map(|b| b.0),
            tags: i.tags.unwrap_or_default(),
            architecture: i.architectures.and_then(|a| a.into_iter().next()),
            ephemeral_storage_mb: i.ephemeral_storage.and_then(|e| e.size),
            dead_letter_target: i.dead_letter_config.and_then(|d| d.target_arn),
        })
        .await
        .map_err(api_error)?;
    Reply::json(201, &configuration(&view))
}
