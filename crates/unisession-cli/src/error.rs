//! Errors of the command, each with its exit code and a one-line message.

use std::fmt;
use std::process::ExitCode;

use unisession::{Error, ErrorKind};

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: complete.
    Complete,
    /// 1: partial failure.
    Partial,
    /// 2: usage or configuration error.
    Usage,
    /// 3: not authenticated.
    Unauthenticated,
}

impl Exit {
    pub(crate) fn number(self) -> u8 {
        match self {
            Exit::Complete => 0,
            Exit::Partial => 1,
            Exit::Usage => 2,
            Exit::Unauthenticated => 3,
        }
    }

    pub(crate) fn code(self) -> ExitCode {
        ExitCode::from(self.number())
    }
}

/// A failure of the whole command: one line, an exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    pub(crate) fn partial(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Partial,
            message: message.into(),
        }
    }

    /// The exit an error of a provider call deserves.
    pub(crate) fn from_error(error: &Error) -> Self {
        let exit = match error.kind() {
            ErrorKind::Unauthenticated => Exit::Unauthenticated,
            ErrorKind::InvalidInput => Exit::Usage,
            _ => Exit::Partial,
        };
        Self {
            exit,
            message: error.to_string(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message held.
        f.write_str(&self.message.replace(['\n', '\r'], " "))
    }
}

impl From<Error> for CliError {
    fn from(error: Error) -> Self {
        Self::from_error(&error)
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        Self::partial(format!("output failed: {error}"))
    }
}
