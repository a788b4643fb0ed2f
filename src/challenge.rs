//! The schemes a server offers in `WWW-Authenticate` (RFC 9110 section 11.6.1), shared by
//! the core's 401 handling and the drivers' decision to answer a Basic challenge.

/// Returns the scheme names of every challenge in `values`, each value being one header line
/// that may hold several comma-joined challenges, in order and without duplicates.
///
/// A comma-separated part whose first word contains `=` is a parameter of the previous
/// challenge (`Basic realm="x", charset="UTF-8"`), so it adds no scheme.
pub fn offered_schemes<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut schemes: Vec<String> = Vec::new();
    for value in values {
        for part in split_outside_quotes(value) {
            let part = part.trim();
            let first_word = part.split([' ', '\t']).next().unwrap_or("");
            if first_word.is_empty() || first_word.contains('=') || first_word.contains('"') {
                continue;
            }
            if !first_word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                continue;
            }
            if !schemes
                .iter()
                .any(|known| known.eq_ignore_ascii_case(first_word))
            {
                schemes.push(first_word.to_owned());
            }
        }
    }
    schemes
}

/// Splits at commas that are not inside a quoted string.
fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_from_joined_and_separate_lines() {
        let schemes = offered_schemes([
            "Negotiate, NTLM",
            r#"Basic realm="mail, \"main\"", charset="UTF-8""#,
            "Bearer authorization_uri=\"https://login.example.com/x\", error=\"invalid_token\"",
            "Negotiate oRswGaADCgEAoxIEEAEAAABDh+CIwTbjqQAAAAA=",
        ]);
        assert_eq!(schemes, ["Negotiate", "NTLM", "Basic", "Bearer"]);
    }

    #[test]
    fn schemes_of_empty_header() {
        assert!(offered_schemes(["", " , "]).is_empty());
    }
}
