//! `fusion sim`: only the Autotask simulator, for tests, third-party clients and experiments.
//! Prints the simulator's one JSON ready line on stdout (logs go to stderr) and serves until
//! SIGINT or SIGTERM.

use anyhow::Context;
use fusion_autotask_sim::{RunError, SimOptions, World};

use crate::cli::SimArgs;
use crate::exit_status::{Completion, InvalidInput};
use crate::shutdown::shutdown_signal;

pub async fn run(args: SimArgs) -> anyhow::Result<Completion> {
    let world = match &args.seed {
        Some(path) => World::from_file(path).map_err(|error| {
            InvalidInput(format!(
                "the seed file {} cannot be used: {error}",
                path.display()
            ))
        })?,
        None => World::demo(),
    };
    match fusion_autotask_sim::run_until(
        args.listen,
        world,
        SimOptions::default(),
        shutdown_signal(),
    )
    .await
    {
        Ok(()) => Ok(Completion::Succeeded),
        Err(RunError::Seed(error)) => {
            Err(InvalidInput(format!("the seed is inconsistent: {error}")).into())
        }
        Err(error) => Err(error).context("the simulator stopped"),
    }
}
