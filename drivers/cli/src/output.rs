//! Writing the report to standard output and standard error without panicking.
//!
//! `println!` and `eprintln!` panic when the stream is closed, for example when the reader of
//! a pipe exits early (`autodiscover --json ... | head -c1`). The report is written here
//! instead, through locked handles, and write errors decide the exit code.

use std::io::{self, ErrorKind, Write};

use crate::exit::Exit;

/// The text of a run, for standard output and standard error.
#[derive(Debug, Default)]
pub struct Report {
    /// The text for standard output.
    pub stdout: String,
    /// The text for standard error.
    pub stderr: String,
}

/// Writes `report` and returns the exit code of the run.
///
/// The code is `exit` unless standard output fails for a reason other than a broken pipe:
/// then the failure goes to standard error and the code is [`Exit::Local`]. A broken pipe on
/// standard output means that the reader chose to stop reading, so the run keeps the code of
/// its outcome and prints nothing more. Standard error failures are ignored, because no
/// stream is left to report them on.
pub fn emit(report: &Report, exit: Exit) -> Exit {
    let stdout_result = write_stdout(&report.stdout);
    write_stderr(&report.stderr);
    match stdout_result {
        Ok(()) => exit,
        Err(error) if error.kind() == ErrorKind::BrokenPipe => exit,
        Err(error) => {
            write_stderr(&format!(
                "error: failed to write the report to standard output: {error}\n"
            ));
            Exit::Local
        }
    }
}

/// Writes `text` to standard error, ignoring failures.
pub fn write_stderr(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

fn write_stdout(text: &str) -> io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    // Flushing here makes a failure visible now, not when the process exits and the
    // standard library drops it.
    stdout.flush()
}
