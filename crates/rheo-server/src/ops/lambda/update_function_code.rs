//! UpdateFunctionCode: a new zip; running processes finish their invocations with the old
//! code, new ones start with the new.

use super::{Ctx, Node, Reply, Result, api_error, configuration, function_name, parse};
use rheo_functions::FunctionError;
use rheo_wire::lambda::UpdateFunctionCodeInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: UpdateFunctionCodeInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, None)?;
    let Some(zip) = i.zip_file else {
        return Err(api_error(FunctionError::InvalidParameter(
            "Rheo takes code as ZipFile for now: S3Bucket, S3Key and ImageUri are not supported yet.".into(),
        )));
    };
    let view = ctx
        .functions
        .update_code(&name, &zip.0, i.revision_id.as_deref())
        .await
        .map_err(api_error)?;
    Reply::json(200, &configuration(&view))
}
