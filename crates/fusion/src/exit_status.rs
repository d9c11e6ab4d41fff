//! How a command's result becomes the process exit code: 0 ok, 1 the operation or test failed,
//! 2 the input was unusable (clap's own usage errors also exit 2).

use std::fmt;
use std::process::ExitCode;

/// What a command that ran to completion reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Exit 0.
    Succeeded,
    /// Exit 1: the command ran, but what it checked failed (e.g. "Test failed"). It has already
    /// printed why.
    CheckFailed,
    /// Exit 2: the input was unusable. It has already printed why and what to do.
    InputRejected,
}

impl Completion {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Completion::Succeeded => ExitCode::SUCCESS,
            Completion::CheckFailed => ExitCode::from(1),
            Completion::InputRejected => ExitCode::from(2),
        }
    }
}

/// An error caused by what the user typed or configured, not by the operation: exits 2.
/// The message says what is wrong and what to do instead.
#[derive(Debug)]
pub struct InvalidInput(pub String);

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

/// Prints a command's error on stderr and picks the exit code: 2 for [`InvalidInput`] anywhere in
/// the chain, 1 otherwise.
pub fn report_error(error: &anyhow::Error) -> ExitCode {
    if let Some(invalid) = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<InvalidInput>())
    {
        eprintln!("error: {invalid}");
        return Completion::InputRejected.exit_code();
    }
    eprintln!("error: {error:#}");
    Completion::CheckFailed.exit_code()
}
