//! `unisession completions SHELL` and `unisession man`: generated from the command
//! definition, so they never drift from it.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{CliError, Exit};

pub(crate) fn completions(shell: clap_complete::Shell) -> Result<Exit, CliError> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "unisession", &mut std::io::stdout());
    Ok(Exit::Complete)
}

/// unisession(1) on stdout; with `dir`, every page written there.
pub(crate) fn man(dir: Option<&Path>) -> Result<Exit, CliError> {
    let command = Cli::command();
    let Some(dir) = dir else {
        clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
        return Ok(Exit::Complete);
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::usage(format!(
            "{}: cannot create the directory: {e}",
            dir.display()
        ))
    })?;
    let mut written = Vec::new();
    write_pages(command, "unisession", dir, &mut written)?;
    for path in &written {
        println!("{}", path.display());
    }
    Ok(Exit::Complete)
}

/// Writes the page of `command` (named `name`) and those of its subcommands.
fn write_pages(
    command: clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> Result<(), CliError> {
    let command = command.name(name.to_owned());
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(&path, page)
        .map_err(|e| CliError::usage(format!("{}: cannot write: {e}", path.display())))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        let sub_name = format!("{name}-{}", sub.get_name());
        write_pages(sub.clone(), &sub_name, dir, written)?;
    }
    Ok(())
}
