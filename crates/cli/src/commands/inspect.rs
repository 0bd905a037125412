use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

#[derive(clap::Args)]
pub struct Args {
    pub file: String,
}

pub fn run(_ctx: &Ctx, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("not built yet")
}
