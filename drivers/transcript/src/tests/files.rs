//! The checks on the files a transcript reads: its own file and the `body @file` files.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::{Reply, Transcript, MAX_BODY_FILE_BYTES, MAX_TRANSCRIPT_BYTES};

/// A folder under the system's temporary folder, removed when dropped.
struct Folder {
    path: PathBuf,
}

impl Folder {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("transcript-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("bodies")).expect("the temporary folder is created");
        Self { path }
    }

    fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a transcript with one HTTP entry whose body is `body_line`, and returns its path.
    fn transcript(&self, body_line: &str) -> PathBuf {
        let path = self.join("run.transcript");
        std::fs::write(
            &path,
            format!(
                "email a@example.com\n\nGET http://example.com/\n  status 200\n  {body_line}\n"
            ),
        )
        .expect("the transcript is written");
        path
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Creates a sparse file of `size` bytes, which takes no disk space.
fn sparse_file(path: &Path, size: u64) {
    File::create(path)
        .and_then(|file| file.set_len(size))
        .expect("the sparse file is created");
}

/// Runs `Transcript::load` on another thread and fails the test if it blocks.
fn load_within_seconds(path: &Path) -> Result<Transcript, String> {
    let (sender, receiver) = mpsc::channel();
    let path = path.to_owned();
    std::thread::spawn(move || {
        let _ = sender.send(Transcript::load(&path).map_err(|error| error.to_string()));
    });
    receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("Transcript::load blocked for 10 s")
}

fn load_error(path: &Path) -> String {
    match load_within_seconds(path) {
        Ok(_) => panic!("{} was loaded", path.display()),
        Err(error) => error,
    }
}

#[test]
fn load_rejects_directory() {
    let folder = Folder::new("directory");
    let error = load_error(&folder.join("bodies"));

    assert!(
        error.contains("bodies: cannot read the transcript"),
        "{error}"
    );
    assert!(
        error.contains("it is a directory, not a regular file"),
        "{error}"
    );
}

#[cfg(unix)]
#[test]
fn load_rejects_character_device() {
    let error = load_error(Path::new("/dev/zero"));

    assert!(error.starts_with("/dev/zero: "), "{error}");
    assert!(
        error.contains("a character device, not a regular file"),
        "{error}"
    );
}

#[cfg(unix)]
#[test]
fn load_rejects_fifo_without_blocking() {
    let folder = Folder::new("fifo");
    let fifo = folder.join("pipe.transcript");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo failed");

    let error = load_error(&fifo);
    assert!(error.contains("pipe.transcript: "), "{error}");
    assert!(
        error.contains("it is a FIFO, not a regular file"),
        "{error}"
    );
}

#[test]
fn load_rejects_oversized_transcript() {
    let folder = Folder::new("oversized");
    let path = folder.join("huge.transcript");
    sparse_file(&path, MAX_TRANSCRIPT_BYTES + 1);

    let error = load_error(&path);
    assert!(
        error.contains("larger than the limit of 16777216 bytes (16 MiB)"),
        "{error}"
    );
}

#[test]
fn load_accepts_transcript_at_limit() {
    let folder = Folder::new("at-limit");
    let path = folder.join("padded.transcript");
    let mut text = "email a@example.com\nexpect step 1\n".to_owned();
    let padding = MAX_TRANSCRIPT_BYTES as usize - text.len();
    // A comment line pads the file to exactly the limit.
    text.push('#');
    text.push_str(&"x".repeat(padding - 2));
    text.push('\n');
    assert_eq!(text.len() as u64, MAX_TRANSCRIPT_BYTES);
    std::fs::write(&path, text).unwrap();

    let transcript = load_within_seconds(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(transcript.header.email, "a@example.com");
}

#[test]
fn body_file_reads_from_empty_base_dir() {
    // `Transcript::load("run.transcript")` parses with the empty path as the folder, which
    // is the current folder: the package root when tests run.
    let text = "email a@example.com\n\nGET http://example.com/\n  status 200\n  body @Cargo.toml\n";
    let transcript =
        Transcript::parse(text, Path::new("")).unwrap_or_else(|error| panic!("{error}"));
    let Reply::Http(reply) = &transcript.entries[0].reply else {
        panic!("not an HTTP reply");
    };
    assert!(reply.body.bytes.starts_with(b"[package]"));
}

#[test]
fn body_file_rejects_absolute_path() {
    let folder = Folder::new("absolute");
    std::fs::write(folder.join("bodies/x.xml"), b"<x/>").unwrap();
    let absolute = folder.join("bodies/x.xml");
    let path = folder.transcript(&format!("body @{}", absolute.display()));

    let error = load_error(&path);
    assert!(error.contains("run.transcript:5: "), "{error}");
    assert!(error.contains("is an absolute path"), "{error}");
}

#[test]
fn body_file_rejects_parent_component() {
    let folder = Folder::new("parent");
    std::fs::write(folder.join("outside.xml"), b"<x/>").unwrap();
    let path = folder.transcript("body @bodies/../../outside.xml");

    let error = load_error(&path);
    assert!(error.contains("run.transcript:5: "), "{error}");
    assert!(error.contains("contains `..`"), "{error}");
}

#[cfg(unix)]
#[test]
fn body_file_rejects_link_out_of_folder() {
    let folder = Folder::new("link-out");
    std::os::unix::fs::symlink("/dev/zero", folder.join("bodies/zero.xml")).unwrap();
    let path = folder.transcript("body @bodies/zero.xml");

    let error = load_error(&path);
    assert!(error.contains("outside the transcript's folder"), "{error}");
}

#[cfg(unix)]
#[test]
fn body_file_follows_link_inside_folder() {
    let folder = Folder::new("link-in");
    std::fs::write(folder.join("bodies/x.xml"), b"<x/>").unwrap();
    std::os::unix::fs::symlink("x.xml", folder.join("bodies/alias.xml")).unwrap();
    let path = folder.transcript("body @bodies/alias.xml");

    let transcript = load_within_seconds(&path).unwrap_or_else(|error| panic!("{error}"));
    let Reply::Http(reply) = &transcript.entries[0].reply else {
        panic!("not an HTTP reply");
    };
    assert_eq!(reply.body.bytes, b"<x/>");
}

#[cfg(unix)]
#[test]
fn body_file_rejects_fifo_without_blocking() {
    let folder = Folder::new("body-fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(folder.join("bodies/pipe.xml"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo failed");
    let path = folder.transcript("body @bodies/pipe.xml");

    let error = load_error(&path);
    assert!(
        error.contains("it is a FIFO, not a regular file"),
        "{error}"
    );
}

#[test]
fn body_file_rejects_directory_and_empty_name() {
    let folder = Folder::new("body-directory");
    let error = load_error(&folder.transcript("body @bodies"));
    assert!(
        error.contains("it is a directory, not a regular file"),
        "{error}"
    );

    let error = load_error(&folder.transcript("body @"));
    assert!(error.contains("`body @` needs a file name"), "{error}");
}

#[test]
fn body_file_rejects_oversized_file() {
    let folder = Folder::new("body-oversized");
    sparse_file(&folder.join("bodies/huge.xml"), MAX_BODY_FILE_BYTES + 1);
    let path = folder.transcript("body @bodies/huge.xml");

    let error = load_error(&path);
    assert!(
        error.contains("cannot read the body file bodies/huge.xml"),
        "{error}"
    );
    assert!(error.contains("larger than the limit"), "{error}");
}

#[test]
fn body_files_have_total_limit() {
    let folder = Folder::new("body-total");
    // Five copies of 13 MiB exceed the 64 MiB total; four fit.
    sparse_file(&folder.join("bodies/large.xml"), 13 * 1024 * 1024);
    let entry = "GET http://example.com/\n  status 200\n  body @bodies/large.xml\n\n";
    let path = folder.join("many.transcript");
    std::fs::write(&path, format!("email a@example.com\n\n{}", entry.repeat(5))).unwrap();

    let error = load_error(&path);
    assert!(error.contains("many.transcript:21: "), "{error}");
    assert!(
        error.contains("add up to more than 67108864 bytes (64 MiB)"),
        "{error}"
    );
}
