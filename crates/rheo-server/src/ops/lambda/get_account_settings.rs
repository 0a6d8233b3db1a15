//! GetAccountSettings: Lambda's default limits, and this account's use.

use super::{Ctx, Reply, Result};

pub async fn handle(ctx: &Ctx) -> Result<Reply> {
    let (functions, _) = ctx.functions.list(None, usize::MAX - 1);
    let code: u64 = functions.iter().map(|f| f.def.code_size).sum();
    Reply::json(
        200,
        &serde_json::json!({
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800u64,
                "CodeSizeUnzipped": 262_144_000,
                "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": 1000,
                "UnreservedConcurrentExecutions": 1000,
            },
            "AccountUsage": {"TotalCodeSize": code, "FunctionCount": functions.len()},
        }),
    )
}
