//! Credentials from the environment or from a prompt without echo, never from the command line.

use std::ffi::OsString;
use std::io::IsTerminal;

use autodiscover_smol::{Credentials, Secret};

use crate::cli::{PASSWORD_VARIABLE, TOKEN_VARIABLE};
use crate::exit::Failure;

/// Reads the credentials for `username`: a bearer token from `AUTODISCOVER_TOKEN`, else a
/// password from `AUTODISCOVER_PASSWORD`, else a password typed at a prompt when standard input
/// is a terminal. An empty password, typed or set, means no credentials.
///
/// # Errors
/// A usage failure when both variables are set, when one is not valid Unicode, or when
/// `basic_upfront` is set without a password. A local failure when the prompt cannot read
/// the terminal.
pub fn read(username: &str, basic_upfront: bool) -> Result<Credentials, Failure> {
    let token = variable(TOKEN_VARIABLE)?;
    let password = variable(PASSWORD_VARIABLE)?;

    let credentials = match (token, password) {
        (Some(_), Some(_)) => {
            return Err(Failure::usage(
                "conflicting_credentials",
                format!("both {TOKEN_VARIABLE} and {PASSWORD_VARIABLE} are set"),
            )
            .hint("Unset one of them: the token is sent as a bearer token, the password with Basic authentication."));
        }
        (Some(token), None) => Credentials::bearer(Secret::new(token)),
        (None, Some(password)) => Credentials::basic(username, Secret::new(password)),
        (None, None) if std::io::stdin().is_terminal() => prompt(username)?,
        (None, None) => Credentials::None,
    };

    if basic_upfront && !matches!(credentials, Credentials::Basic { .. }) {
        return Err(Failure::usage(
            "basic_upfront_without_password",
            "--basic-upfront needs a password, but none was given",
        )
        .hint(format!(
            "Set {PASSWORD_VARIABLE}, or run from a terminal to be asked for the password."
        )));
    }
    Ok(credentials)
}

/// Returns the value of an environment variable, or `None` when it is unset or empty.
fn variable(name: &str) -> Result<Option<String>, Failure> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) if value.is_empty() => Ok(None),
        Some(value) => value.into_string().map(Some).map_err(|_: OsString| {
            Failure::usage("invalid_credentials", format!("{name} is not valid UTF-8"))
        }),
    }
}

/// Asks for the password on the terminal without echo.
fn prompt(username: &str) -> Result<Credentials, Failure> {
    let password = rpassword::prompt_password(format!(
        "Password for {username} (Enter for none): "
    ))
    .map_err(|error| {
        Failure::local(
            "password_prompt",
            format!("failed to read the password from the terminal: {error}"),
        )
        .hint(format!("Set {PASSWORD_VARIABLE} instead."))
    })?;
    if password.is_empty() {
        return Ok(Credentials::None);
    }
    Ok(Credentials::basic(username, Secret::new(password)))
}
