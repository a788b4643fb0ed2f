//! Reading the transcript format. The grammar is described in the crate documentation.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;
use std::fs::{File, FileType};
use std::io::Read as _;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use autodiscover::{Flavor, SrvRecord, Strategy, UntrustedRedirects};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use url::Url;

use crate::model::{
    default_parallel, normalize_name, parse_step, Body, Entry, Expect, Expectation, Header,
    HttpReply, Key, Reply, Transcript,
};
use crate::text::{parse_dns_error, parse_duration, parse_http_failure, parse_offset, split_words};

/// Largest transcript file that [`Transcript::load`] reads: 16 MiB. A recorded run stores its
/// response bodies inline, so this leaves room for about a dozen bodies at the core's default
/// `max_response_bytes` of 1 MiB, even in base64. A larger file is rejected before it is read.
pub const MAX_TRANSCRIPT_BYTES: u64 = 16 * 1024 * 1024;

/// Largest file that one `body @file` line reads: 16 MiB, sixteen times the core's default
/// `max_response_bytes`, so that a transcript can still show a body over that limit.
pub const MAX_BODY_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Largest total of all the body files of one transcript: 64 MiB. Without it, many entries
/// that name one large file would each hold their own copy of it in memory.
pub const MAX_BODY_FILES_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// A transcript that could not be read: the file (when known), the 1-based line and what is
/// wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The transcript file, when it was read with [`Transcript::load`].
    pub path: Option<PathBuf>,
    /// The line, counting from 1; 0 when the problem concerns the whole file (it cannot be
    /// read, or is too large), so no line is printed.
    pub line: usize,
    /// The problem and how to fix it.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(path), 0) => write!(f, "{}: {}", path.display(), self.message),
            (Some(path), line) => write!(f, "{}:{line}: {}", path.display(), self.message),
            (None, 0) => f.write_str(&self.message),
            (None, line) => write!(f, "line {line}: {}", self.message),
        }
    }
}

impl std::error::Error for ParseError {}

impl Transcript {
    /// Parses a transcript. Body files named with `body @file` are read relative to
    /// `base_dir`. Such a file must be a regular file inside `base_dir`: an absolute path, a
    /// `..` component or a symbolic link that leads out of `base_dir` is rejected. A body file
    /// may have at most [`MAX_BODY_FILE_BYTES`], and all of them together at most
    /// [`MAX_BODY_FILES_TOTAL_BYTES`].
    ///
    /// # Errors
    /// A [`ParseError`] naming the first line that is not valid and why.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Transcript, ParseError> {
        Parser {
            lines: text.lines().collect(),
            base_dir,
            next: 0,
            body_file_bytes: Cell::new(0),
        }
        .parse()
        .map_err(|(line, message)| ParseError {
            path: None,
            line,
            message,
        })
    }

    /// Reads and parses the transcript file at `path`; body files are read relative to its
    /// folder, as [`Transcript::parse`] describes.
    ///
    /// The file must be a regular file of at most [`MAX_TRANSCRIPT_BYTES`]: a FIFO, a device
    /// such as `/dev/zero` or a directory is rejected before it is opened.
    ///
    /// # Errors
    /// A [`ParseError`] carrying the path, for a file that is missing, unreadable, not a
    /// regular file, too large or not UTF-8, or for an invalid line.
    pub fn load(path: &Path) -> Result<Transcript, ParseError> {
        let unreadable = |reason: String| ParseError {
            path: Some(path.to_owned()),
            line: 0,
            message: format!("cannot read the transcript: {reason}"),
        };
        let bytes = read_regular_file(path, MAX_TRANSCRIPT_BYTES).map_err(unreadable)?;
        let text = String::from_utf8(bytes)
            .map_err(|error| unreadable(format!("it is not valid UTF-8 ({error})")))?;
        let base_dir = path.parent().unwrap_or(Path::new("."));
        Transcript::parse(&text, base_dir).map_err(|error| ParseError {
            path: Some(path.to_owned()),
            ..error
        })
    }
}

/// A parse failure before the path is known: the line and the message.
type Failure = (usize, String);

struct Parser<'a> {
    lines: Vec<&'a str>,
    base_dir: &'a Path,
    /// The index of the next line to read.
    next: usize,
    /// The bytes read from body files so far, checked against [`MAX_BODY_FILES_TOTAL_BYTES`].
    body_file_bytes: Cell<u64>,
}

/// One line of an entry's block, already classified.
struct Item {
    line: usize,
    kind: ItemKind,
}

enum ItemKind {
    Header(String, String),
    Body(Body),
    Words(Vec<String>),
}

impl<'a> Parser<'a> {
    fn parse(mut self) -> Result<Transcript, Failure> {
        let mut header = Header::new("", Flavor::Soap);
        let mut seen_directives = BTreeSet::new();
        let mut email_seen = false;
        let mut comments = Vec::new();
        let mut entries = Vec::new();
        let mut expectations = Vec::new();

        while self.next < self.lines.len() {
            let number = self.next + 1;
            let line = self.lines[self.next];
            self.next += 1;

            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                return Err((
                    number,
                    "this indented line belongs to no entry; indented lines follow a key line such as `POST <url>`, and other lines start in the first column".to_owned(),
                ));
            }
            if let Some(comment) = line.strip_prefix('#') {
                comments.push(comment.to_owned());
                continue;
            }

            let words = split_words(line).map_err(|message| (number, message))?;
            let first = words[0].as_str();
            let second = words.get(1).map(String::as_str);
            let is_entry = matches!(first, "optional" | "POST" | "GET" | "DNS")
                || (first == "cache" && matches!(second, Some("get" | "put" | "delete")));

            if first == "expect" {
                let expect = parse_expect(line, &words).map_err(|message| (number, message))?;
                expectations.push(Expectation {
                    line: number,
                    expect,
                    comments: std::mem::take(&mut comments),
                });
            } else if is_entry {
                let mut entry = self.parse_entry(number, &words)?;
                entry.comments = std::mem::take(&mut comments);
                entries.push(entry);
            } else {
                if !entries.is_empty() || !expectations.is_empty() {
                    return Err((
                        number,
                        format!("the header line `{first}` must come before the first entry and the first `expect` line"),
                    ));
                }
                if first != "trust" && !seen_directives.insert(first.to_owned()) {
                    return Err((number, format!("`{first}` is given twice")));
                }
                email_seen |= first == "email";
                parse_directive(&mut header, line, &words).map_err(|message| (number, message))?;
                header.comments.append(&mut comments);
            }
        }

        if !email_seen {
            return Err((
                1,
                "the transcript has no `email` line; start it with, for example, `email alice@example.com`".to_owned(),
            ));
        }
        Ok(Transcript {
            header,
            entries,
            expectations,
            trailing_comments: comments,
        })
    }

    /// Parses a key line and the indented block below it.
    fn parse_entry(&mut self, number: usize, words: &[String]) -> Result<Entry, Failure> {
        let fail = |message: String| (number, message);
        let mut words = words;
        let optional = words[0] == "optional";
        if optional {
            words = &words[1..];
        }
        let mut at = None;
        if words.len() >= 2 && words[words.len() - 2] == "at" {
            at = Some(parse_offset(&words[words.len() - 1]).map_err(fail)?);
            words = &words[..words.len() - 2];
        }
        let key = parse_key(words).map_err(fail)?;
        if at.is_some() && key.is_cache_write() {
            return Err(fail(
                "cache writes are acknowledged as soon as they are sent; remove `at`".to_owned(),
            ));
        }

        let block = self.take_block();
        let (items, notes) = self.classify(&block)?;
        let (reply, request_email) = build_reply(&key, number, items)?;
        Ok(Entry {
            line: number,
            optional,
            key,
            at,
            request_email,
            reply,
            comments: Vec::new(),
            notes,
        })
    }

    /// Takes the lines of the block below a key line: indented lines, and blank lines that
    /// more indented lines follow.
    fn take_block(&mut self) -> Vec<(usize, &'a str)> {
        let mut block = Vec::new();
        while self.next < self.lines.len() {
            let line = self.lines[self.next];
            let continues = if line.trim().is_empty() {
                self.lines[self.next..]
                    .iter()
                    .find(|later| !later.trim().is_empty())
                    .is_some_and(|later| later.starts_with([' ', '\t']))
            } else {
                line.starts_with([' ', '\t'])
            };
            if !continues {
                break;
            }
            block.push((self.next + 1, line));
            self.next += 1;
        }
        block
    }

    /// Splits a block into comment notes and items, collecting body lines under `body`.
    fn classify(&self, block: &[(usize, &str)]) -> Result<(Vec<Item>, Vec<String>), Failure> {
        let mut items = Vec::new();
        let mut notes = Vec::new();
        let mut index = 0;
        while index < block.len() {
            let (number, raw) = block[index];
            index += 1;
            if raw.trim().is_empty() {
                continue;
            }
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            if raw[indent..].starts_with('\t') {
                return Err((number, "indent with spaces, not tabs".to_owned()));
            }
            if indent >= 4 {
                return Err((
                    number,
                    format!("unexpected indentation of {indent} spaces; answer lines are indented by 2 spaces, and only the lines of a `body` by 4"),
                ));
            }
            let content = raw.trim();
            if let Some(note) = content.strip_prefix('#') {
                notes.push(note.to_owned());
                continue;
            }
            if let Some((name, value)) = split_header(content) {
                items.push(Item {
                    line: number,
                    kind: ItemKind::Header(name, value),
                });
                continue;
            }
            if content == "body" || content.starts_with("body ") {
                let mode = content["body".len()..].trim();
                let mut lines = Vec::new();
                while index < block.len() {
                    let (_, body_line) = block[index];
                    if body_line.trim().is_empty() {
                        let more = block[index..]
                            .iter()
                            .find(|(_, later)| !later.trim().is_empty())
                            .is_some_and(|(_, later)| later.starts_with("    "));
                        if !more {
                            break;
                        }
                        lines.push("");
                    } else if let Some(text) = body_line.strip_prefix("    ") {
                        lines.push(text);
                    } else {
                        break;
                    }
                    index += 1;
                }
                let body = self
                    .parse_body(mode, &lines)
                    .map_err(|message| (number, message))?;
                items.push(Item {
                    line: number,
                    kind: ItemKind::Body(body),
                });
                continue;
            }
            let words = split_words(content).map_err(|message| (number, message))?;
            items.push(Item {
                line: number,
                kind: ItemKind::Words(words),
            });
        }
        Ok((items, notes))
    }

    fn parse_body(&self, mode: &str, lines: &[&str]) -> Result<Body, String> {
        if let Some(file) = mode.strip_prefix('@') {
            if !lines.is_empty() {
                return Err("`body @file` takes no indented lines below it".to_owned());
            }
            let bytes = self.read_body_file(file)?;
            return Ok(Body {
                bytes,
                file: Some(file.to_owned()),
            });
        }
        if lines.is_empty() {
            return Err("`body` needs lines indented by 4 spaces below it, or a file: `body @bodies/name.xml`".to_owned());
        }
        let bytes = match mode {
            "" => lines.iter().flat_map(|line| [*line, "\n"]).collect::<String>().into_bytes(),
            NO_FINAL_NEWLINE => lines.join("\n").into_bytes(),
            "base64" => {
                let encoded: String = lines.iter().map(|line| line.trim()).collect();
                BASE64
                    .decode(encoded)
                    .map_err(|error| format!("the base64 body is not valid: {error}"))?
            }
            other => {
                return Err(format!(
                    "unknown body form {other:?}; write `body`, `body {NO_FINAL_NEWLINE}`, `body base64` or `body @file`"
                ))
            }
        };
        Ok(Body::inline(bytes))
    }
}

impl Parser<'_> {
    /// Reads the file of `body @file`, which must lie inside the base folder.
    fn read_body_file(&self, file: &str) -> Result<Vec<u8>, String> {
        check_body_path(file)?;
        // `Path::parent` of a bare file name is the empty path, which names the current folder.
        let base_dir = if self.base_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            self.base_dir
        };
        let path = base_dir.join(file);
        let unreadable = |reason: String| {
            format!(
                "cannot read the body file {file} ({}): {reason}",
                path.display()
            )
        };

        // `..` is rejected above, but a symbolic link can still lead out of the folder.
        let resolved = path
            .canonicalize()
            .map_err(|error| unreadable(error.to_string()))?;
        let base = base_dir
            .canonicalize()
            .map_err(|error| unreadable(format!("the transcript's folder: {error}")))?;
        if !resolved.starts_with(&base) {
            return Err(unreadable(format!(
                "it resolves to {}, outside the transcript's folder {}",
                resolved.display(),
                base.display()
            )));
        }

        let bytes = read_regular_file(&resolved, MAX_BODY_FILE_BYTES).map_err(unreadable)?;
        let total = self.body_file_bytes.get() + bytes.len() as u64;
        if total > MAX_BODY_FILES_TOTAL_BYTES {
            return Err(unreadable(format!(
                "the body files of this transcript add up to more than {MAX_BODY_FILES_TOTAL_BYTES} bytes ({})",
                mebibytes(MAX_BODY_FILES_TOTAL_BYTES)
            )));
        }
        self.body_file_bytes.set(total);
        Ok(bytes)
    }
}

/// Checks that the path of `body @file` is relative and has no `..` component.
fn check_body_path(file: &str) -> Result<(), String> {
    if file.is_empty() {
        return Err("`body @` needs a file name, such as `body @bodies/name.xml`".to_owned());
    }
    for component in Path::new(file).components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                return Err(format!(
                    "the body file {file:?} is an absolute path; name it relative to the transcript's folder, such as bodies/name.xml"
                ))
            }
            Component::ParentDir => {
                return Err(format!(
                    "the body file {file:?} contains `..`; a body file must be inside the transcript's folder"
                ))
            }
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    Ok(())
}

/// Reads the regular file at `path` if it has at most `limit` bytes; returns the reason
/// otherwise.
// NOTE: the type and size are checked before the file is opened, because opening a FIFO
// blocks until a writer appears. A FIFO swapped in between the check and the open would
// still block, but the read stops after `limit` bytes whatever the file is.
fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err(format!(
            "it is {}, not a regular file",
            describe_file_type(metadata.file_type())
        ));
    }
    let too_large = || {
        format!(
            "it is larger than the limit of {limit} bytes ({})",
            mebibytes(limit)
        )
    };
    if metadata.len() > limit {
        return Err(too_large());
    }

    let file = File::open(path).map_err(|error| error.to_string())?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    // The file may have grown since the size check.
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Names a file type that is not a regular file, with its article.
fn describe_file_type(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Writes a byte count that is a whole number of MiB, such as `16 MiB`.
fn mebibytes(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// The `body` mode whose text has no newline after its last line.
pub(crate) const NO_FINAL_NEWLINE: &str = "(no final newline)";

/// Splits `Name: value` when `Name` is a valid HTTP header name and a space or the line end
/// follows the colon (so that an IPv6 address is not taken for a header).
fn split_header(content: &str) -> Option<(String, String)> {
    let (name, value) = content.split_once(':')?;
    if !(value.is_empty() || value.starts_with(' ')) {
        return None;
    }
    let is_token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    is_token.then(|| (name.to_owned(), value.trim().to_owned()))
}

fn parse_key(words: &[String]) -> Result<Key, String> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let url =
        |text: &str| Url::parse(text).map_err(|error| format!("invalid URL {text:?}: {error}"));
    let name = |text: &str| {
        let name = normalize_name(text);
        if name.is_empty() || name.contains(char::is_whitespace) {
            Err(format!("invalid DNS name {text:?}"))
        } else {
            Ok(name)
        }
    };
    match words.as_slice() {
        ["POST", target] => Ok(Key::Post(url(target)?)),
        ["GET", target] => Ok(Key::Get(url(target)?)),
        ["DNS", "A", host] => Ok(Key::DnsA(name(host)?)),
        ["DNS", "SRV", query] => Ok(Key::DnsSrv(name(query)?)),
        ["cache", "get", domain] => Ok(Key::CacheGet(name(domain)?)),
        ["cache", "put", domain, endpoint] => Ok(Key::CachePut {
            domain: name(domain)?,
            endpoint: url(endpoint)?,
        }),
        ["cache", "delete", domain] => Ok(Key::CacheDelete(name(domain)?)),
        _ => Err(format!(
            "invalid entry `{}`; an entry is one of `POST <url>`, `GET <url>`, `DNS A <host>`, `DNS SRV <name>`, `cache get <domain>`, `cache put <domain> <endpoint>`, `cache delete <domain>`, optionally preceded by `optional` and followed by `at +<time>`",
            words.join(" ")
        )),
    }
}

/// Builds an entry's reply from its block items and returns the `request_email` check.
fn build_reply(
    key: &Key,
    key_line: usize,
    items: Vec<Item>,
) -> Result<(Reply, Option<String>), Failure> {
    let mut request_email = None;
    let mut rest = Vec::new();
    for item in items {
        if let ItemKind::Words(words) = &item.kind {
            if words[0] == "request_email" {
                if !matches!(key, Key::Post(_)) {
                    return Err((
                        item.line,
                        "`request_email` applies only to POST entries".to_owned(),
                    ));
                }
                if request_email.is_some() {
                    return Err((item.line, "`request_email` is given twice".to_owned()));
                }
                let [_, address] = words.as_slice() else {
                    return Err((item.line, "write `request_email <address>`".to_owned()));
                };
                request_email = Some(address.clone());
                continue;
            }
        }
        rest.push(item);
    }

    let reply = match key {
        Key::Post(_) | Key::Get(_) => build_http_reply(key, key_line, rest)?,
        Key::DnsA(_) => build_dns_a_reply(key, key_line, rest)?,
        Key::DnsSrv(_) => build_srv_reply(key, key_line, rest)?,
        Key::CacheGet(_) => build_cache_get_reply(key, key_line, rest)?,
        Key::CachePut { .. } | Key::CacheDelete(_) => {
            if let Some(item) = rest.first() {
                return Err((
                    item.line,
                    "cache writes take no answer lines; the replay acknowledges them".to_owned(),
                ));
            }
            Reply::Stored
        }
    };
    Ok((reply, request_email))
}

fn missing_answer(key: &Key, key_line: usize, choices: &str) -> Failure {
    (
        key_line,
        format!("`{key}` has no answer; add an indented line below it: {choices}"),
    )
}

/// Accepts `never` or `error ...` as the only item, for every kind of entry.
fn single_terminal(
    items: &[Item],
    parse_error: impl Fn(&[String]) -> Result<Reply, String>,
) -> Option<Result<Reply, Failure>> {
    let item = items.first()?;
    let ItemKind::Words(words) = &item.kind else {
        return None;
    };
    let reply = match words[0].as_str() {
        "never" if words.len() == 1 => Ok(Reply::Never),
        "never" => Err((item.line, "`never` takes no arguments".to_owned())),
        "error" => parse_error(&words[1..]).map_err(|message| (item.line, message)),
        _ => return None,
    };
    if let Some(extra) = items.get(1) {
        return Some(Err((
            extra.line,
            format!("`{}` must be the only answer line of its entry", words[0]),
        )));
    }
    Some(reply)
}

fn build_http_reply(key: &Key, key_line: usize, items: Vec<Item>) -> Result<Reply, Failure> {
    if let Some(reply) = single_terminal(&items, |words| {
        parse_http_failure(words).map(Reply::HttpFailure)
    }) {
        return reply;
    }

    let mut status = None;
    let mut headers = Vec::new();
    let mut body: Option<Body> = None;
    let mut auth_scheme = None;
    for item in items {
        match item.kind {
            ItemKind::Header(name, value) => headers.push((name, value)),
            ItemKind::Body(parsed) => {
                if body.replace(parsed).is_some() {
                    return Err((item.line, "the entry has two bodies".to_owned()));
                }
            }
            ItemKind::Words(words) => match (words[0].as_str(), words.as_slice()) {
                ("status", [_, code]) => {
                    let code = code
                        .parse::<u16>()
                        .ok()
                        .filter(|code| (100..=999).contains(code))
                        .ok_or_else(|| (item.line, format!("invalid status {code:?}; write a three-digit code such as 200")))?;
                    if status.replace(code).is_some() {
                        return Err((item.line, "`status` is given twice".to_owned()));
                    }
                }
                ("auth", [_, scheme]) => auth_scheme = Some(scheme.clone()),
                ("never" | "error", _) => {
                    return Err((
                        item.line,
                        format!("`{}` must be the only answer line of its entry", words[0]),
                    ))
                }
                _ => {
                    return Err((
                        item.line,
                        format!(
                            "unexpected line `{}` in an HTTP entry; write `status <code>`, header lines `Name: value`, `body ...`, `auth <scheme>`, `request_email <address>`, `error <kind>` or `never`",
                            words.join(" ")
                        ),
                    ))
                }
            },
        }
    }
    let Some(status) = status else {
        return Err(missing_answer(
            key,
            key_line,
            "`status <code>` (with header lines and a body), `error <kind>` or `never`",
        ));
    };
    Ok(Reply::Http(HttpReply {
        status,
        headers,
        body: body.unwrap_or_default(),
        auth_scheme,
    }))
}

fn build_dns_a_reply(key: &Key, key_line: usize, items: Vec<Item>) -> Result<Reply, Failure> {
    if let Some(reply) = single_terminal(&items, |words| {
        parse_dns_error(words).map(Reply::DnsFailure)
    }) {
        return reply;
    }
    if let Some(reply) = single_empty(&items) {
        return reply.map(|()| Reply::Addresses(Vec::new()));
    }
    let mut addresses = Vec::new();
    for item in &items {
        let words = words_of(
            item,
            "a DNS A entry takes addresses, `empty`, `error <kind>` or `never`",
        )?;
        for word in words {
            let address = word.parse::<IpAddr>().map_err(|_| {
                (item.line, format!("{word:?} is not an IP address; a DNS A entry takes addresses, `empty`, `error <kind>` or `never`"))
            })?;
            addresses.push(address);
        }
    }
    if addresses.is_empty() {
        return Err(missing_answer(
            key,
            key_line,
            "addresses such as `192.0.2.1`, `empty`, `error nxdomain` or `never`",
        ));
    }
    Ok(Reply::Addresses(addresses))
}

fn build_srv_reply(key: &Key, key_line: usize, items: Vec<Item>) -> Result<Reply, Failure> {
    if let Some(reply) = single_terminal(&items, |words| {
        parse_dns_error(words).map(Reply::DnsFailure)
    }) {
        return reply;
    }
    if let Some(reply) = single_empty(&items) {
        return reply.map(|()| Reply::Records(Vec::new()));
    }
    let mut records = Vec::new();
    for item in &items {
        let hint = "a DNS SRV entry takes records `priority weight port target`, `empty`, `error <kind>` or `never`";
        let words = words_of(item, hint)?;
        // A zone-file line (`name TTL IN SRV priority weight port target`) is read from the
        // word after `SRV`.
        let fields = match words
            .iter()
            .position(|word| word.eq_ignore_ascii_case("SRV"))
        {
            Some(at) => &words[at + 1..],
            None => words,
        };
        let [priority, weight, port, target] = fields else {
            return Err((item.line, format!("invalid SRV record; {hint}")));
        };
        let number = |text: &String, field: &str| {
            text.parse::<u16>().map_err(|_| {
                (
                    item.line,
                    format!("invalid SRV {field} {text:?}; it must be a number from 0 to 65535"),
                )
            })
        };
        records.push(SrvRecord {
            priority: number(priority, "priority")?,
            weight: number(weight, "weight")?,
            port: number(port, "port")?,
            target: target.clone(),
        });
    }
    if records.is_empty() {
        return Err(missing_answer(
            key,
            key_line,
            "records such as `0 0 443 mail.example.com.`, `empty`, `error nxdomain` or `never`",
        ));
    }
    Ok(Reply::Records(records))
}

fn build_cache_get_reply(key: &Key, key_line: usize, items: Vec<Item>) -> Result<Reply, Failure> {
    if let Some(item) = items.get(1) {
        return Err((
            item.line,
            "a cache get entry has a single answer line".to_owned(),
        ));
    }
    let hint = "write `miss`, `hit <endpoint> soap|pox [auth scheme]` or `never`";
    let Some(item) = items.first() else {
        return Err(missing_answer(key, key_line, hint));
    };
    let words = words_of(item, hint)?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let fail = |message: String| (item.line, message);
    match words.as_slice() {
        ["miss"] => Ok(Reply::CacheMiss),
        ["never"] => Ok(Reply::Never),
        ["hit", endpoint, flavor, rest @ ..] => {
            let endpoint = Url::parse(endpoint)
                .map_err(|error| fail(format!("invalid URL {endpoint:?}: {error}")))?;
            let flavor = parse_flavor(flavor).map_err(fail)?;
            let auth_scheme = match rest {
                [] => None,
                ["auth", scheme] => Some((*scheme).to_owned()),
                _ => return Err(fail(format!("unexpected words after the flavour; {hint}"))),
            };
            Ok(Reply::CacheHit {
                endpoint,
                flavor,
                auth_scheme,
            })
        }
        _ => Err(fail(format!(
            "unexpected answer `{}`; {hint}",
            words.join(" ")
        ))),
    }
}

/// Accepts `empty` as the only item of a DNS entry.
fn single_empty(items: &[Item]) -> Option<Result<(), Failure>> {
    let item = items.first()?;
    let ItemKind::Words(words) = &item.kind else {
        return None;
    };
    if words[0] != "empty" {
        return None;
    }
    if words.len() > 1 {
        return Some(Err((item.line, "`empty` takes no arguments".to_owned())));
    }
    if let Some(extra) = items.get(1) {
        return Some(Err((
            extra.line,
            "`empty` must be the only answer line of its entry".to_owned(),
        )));
    }
    Some(Ok(()))
}

fn words_of<'a>(item: &'a Item, hint: &str) -> Result<&'a [String], Failure> {
    match &item.kind {
        ItemKind::Words(words) => Ok(words),
        ItemKind::Header(name, _) => {
            Err((item.line, format!("unexpected header {name:?}; {hint}")))
        }
        ItemKind::Body(_) => Err((item.line, format!("unexpected body; {hint}"))),
    }
}

fn parse_flavor(text: &str) -> Result<Flavor, String> {
    match text {
        "soap" => Ok(Flavor::Soap),
        "pox" => Ok(Flavor::Pox),
        other => Err(format!("unknown flavour {other:?}; write soap or pox")),
    }
}

/// Returns the text after the first `count` words of `line`, trimmed.
fn rest_after_words(line: &str, count: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..count {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end()
}

fn parse_directive(header: &mut Header, line: &str, words: &[String]) -> Result<(), String> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let single_value = |placeholder: &str| -> Result<String, String> {
        match words.as_slice() {
            [_, value] => Ok((*value).to_owned()),
            _ => Err(format!("write `{} <{placeholder}>`", words[0])),
        }
    };
    match words[0] {
        "email" => header.email = single_value("address")?,
        "flavor" => header.flavor = parse_flavor(&single_value("soap|pox")?)?,
        "settings" => {
            let list = rest_after_words(line, 1);
            header.settings = list
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect();
            if header.settings.is_empty() {
                return Err("`settings` needs at least one setting name, such as ExternalEwsUrl".to_owned());
            }
        }
        "strategy" => header.strategy = Some(parse_strategy(&words[1..])?),
        "request_timeout" => header.request_timeout = Some(parse_duration(&single_value("time")?)?),
        "deadline" => header.deadline = Some(parse_duration(&single_value("time")?)?),
        "trust" => header.trusted_hosts.push(single_value("host")?),
        "untrusted" => {
            header.untrusted_redirects = Some(match single_value("reject|follow")?.as_str() {
                "reject" => UntrustedRedirects::Reject,
                "follow" => UntrustedRedirects::FollowWithoutCredentials,
                other => return Err(format!("unknown policy {other:?}; write `untrusted reject` or `untrusted follow`")),
            })
        }
        "cache" => {
            header.use_cache = match single_value("on|off")?.as_str() {
                "off" => false,
                "on" => true,
                other => return Err(format!("unknown cache setting {other:?}; write `cache off` or `cache on`")),
            }
        }
        "srv_seed" => {
            let seed = single_value("number")?;
            header.srv_seed = Some(seed.parse().map_err(|_| format!("invalid seed {seed:?}; write a whole number"))?);
        }
        "max_response_bytes" => {
            let limit = single_value("bytes")?;
            header.max_response_bytes = Some(limit.parse().map_err(|_| format!("invalid byte count {limit:?}; write a whole number"))?);
        }
        other => {
            return Err(format!(
                "unknown line start `{other}`; a line is a header line (email, flavor, settings, strategy, request_timeout, deadline, trust, untrusted, cache, srv_seed, max_response_bytes), an entry (POST, GET, DNS A, DNS SRV, cache get|put|delete, optional), `expect ...` or a `#` comment"
            ))
        }
    }
    Ok(())
}

fn parse_strategy(words: &[&str]) -> Result<Strategy, String> {
    match words {
        ["sequential"] => Ok(Strategy::Sequential),
        ["parallel", options @ ..] => {
            let Strategy::Parallel {
                mut stagger,
                mut grace,
            } = default_parallel()
            else {
                unreachable!("default_parallel returns a parallel strategy")
            };
            for pair in options.chunks(2) {
                match pair {
                    ["stagger", value] => stagger = parse_duration(value)?,
                    ["grace", value] => grace = parse_duration(value)?,
                    _ => {
                        return Err(
                            "write `strategy parallel [stagger <time>] [grace <time>]`".to_owned()
                        )
                    }
                }
            }
            Ok(Strategy::Parallel { stagger, grace })
        }
        _ => Err(
            "write `strategy sequential` or `strategy parallel [stagger <time>] [grace <time>]`"
                .to_owned(),
        ),
    }
}

fn parse_expect(line: &str, words: &[String]) -> Result<Expect, String> {
    let Some(fact) = words.get(1) else {
        return Err(format!("`expect` needs a fact to check; {EXPECT_NAMES}"));
    };
    let value = rest_after_words(line, 2);
    if value.is_empty() {
        return Err(format!("`expect {fact}` needs a value"));
    }
    let single = || -> Result<&str, String> {
        if value.contains(char::is_whitespace) {
            Err(format!(
                "`expect {fact}` takes a single word, not {value:?}"
            ))
        } else {
            Ok(value)
        }
    };
    let url =
        |text: &str| Url::parse(text).map_err(|error| format!("invalid URL {text:?}: {error}"));
    let optional_text = |text: &str| (text != "none").then(|| text.to_owned());
    Ok(match fact.as_str() {
        "ews_url" => {
            let text = single()?;
            Expect::EwsUrl(if text == "none" {
                None
            } else {
                Some(url(text)?)
            })
        }
        "endpoint" => Expect::Endpoint(url(single()?)?),
        "step" => Expect::Step(
            parse_step(single()?)
                .ok_or_else(|| format!("unknown step {value:?}; write cache, 1, 2, 3 or 4"))?,
        ),
        "smtp_address" => Expect::SmtpAddress(single()?.to_owned()),
        "redirected_email" => Expect::RedirectedEmail(optional_text(single()?)),
        "display_name" => Expect::DisplayName(value.to_owned()),
        "warning" => Expect::Warning(value.to_owned()),
        "error" => Expect::Error(single()?.to_owned()),
        "error_mentions" => Expect::ErrorMentions(value.to_owned()),
        "trace" => Expect::Trace(value.to_owned()),
        "max_requests" => {
            let text = single()?;
            Expect::MaxRequests(
                text.parse()
                    .map_err(|_| format!("invalid count {text:?}; write a whole number"))?,
            )
        }
        "no_credentials" => Expect::NoCredentials(single()?.to_owned()),
        "finished_by" => Expect::FinishedBy(parse_offset(single()?)?),
        other => return Err(format!("unknown expectation {other:?}; {EXPECT_NAMES}")),
    })
}

const EXPECT_NAMES: &str = "use ews_url, endpoint, step, smtp_address, redirected_email, display_name, warning, error, error_mentions, trace, max_requests, no_credentials or finished_by";
