//! Checking request header lines before a driver writes them.

use autodiscover::TransportError;

/// Checks that a header line cannot change the request's framing: the name must be an RFC 9110
/// token, and the value may contain only visible ASCII, spaces and tabs.
///
/// A value containing CR LF would otherwise end the header line and start another. The value
/// is never part of the error, because it may be a credential.
///
/// # Errors
/// [`TransportError::Io`] naming the header, saying that the request was not sent.
pub fn check_header(name: &str, value: &str) -> Result<(), TransportError> {
    let name_is_token = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
    if !name_is_token {
        return Err(TransportError::Io(format!(
            "the request header name {name:?} is not a valid HTTP token; the request was not sent"
        )));
    }

    let problem = if value
        .bytes()
        .any(|byte| byte.is_ascii_control() && byte != b'\t')
    {
        "a control character (such as CR, LF or NUL)"
    } else if !value.is_ascii() {
        "a non-ASCII character"
    } else {
        return Ok(());
    };
    Err(TransportError::Io(format!(
        "the value of the request header {name:?} contains {problem}; the request was not sent"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_accepted() {
        for value in [
            "",
            "text/xml; charset=utf-8",
            "a\tb",
            "Bearer abc.def-_~+/=",
        ] {
            assert!(check_header("X-Test", value).is_ok(), "{value:?}");
        }
    }

    #[test]
    fn header_values_rejected_without_value() {
        for value in [
            "secret-91\r\nX-Injected: yes",
            "secret-91\n",
            "secret-91\0",
            "secret-91\u{1b}",
            "secret-91\u{7f}",
            "secret-91\u{e9}",
        ] {
            let message = check_header("Authorization", value)
                .expect_err("invalid value")
                .to_string();
            assert!(message.contains("Authorization"), "{value:?}: {message}");
            assert!(message.contains("not sent"), "{value:?}: {message}");
            assert!(!message.contains("secret-91"), "{value:?}: {message}");
        }
    }

    #[test]
    fn header_names_must_be_tokens() {
        for name in ["", "X Test", "X-Test:", "X-T\u{e9}st", "X\r\nInjected"] {
            let error = check_header(name, "value").expect_err("invalid name");
            assert!(matches!(error, TransportError::Io(_)), "{name:?}: {error}");
        }
    }
}
