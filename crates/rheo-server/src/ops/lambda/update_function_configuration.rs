//! UpdateFunctionConfiguration: what is given replaces what was; processes restart with it.

use super::{Ctx, Node, Reply, Result, api_error, configuration, function_name, parse};
use rheo_functions::ConfigChanges;
use rheo_wire::lambda::UpdateFunctionConfigurationInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: UpdateFunctionConfigurationInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, None)?;
    let changes = ConfigChanges {
        runtime: i.runtime,
        handler: i.handler,
        role: i.role,
        description: i.description,
        timeout_s: i.timeout,
        memory_mb: i.memory_size,
        environment: i.environment.map(|e| e.variables.unwrap_or_default()),
        ephemeral_storage_mb: i.ephemeral_storage.and_then(|e| e.size),
        dead_letter_target: i.dead_letter_config.map(|d| d.target_arn.filter(|t| !t.is_empty())),
        revision_id: i.revision_id,
    };
    let view = ctx
        .functions
        .update_configuration(&name, changes)
        .await
        .map_err(api_error)?;
    Reply::json(200, &configuration(&view))
}
