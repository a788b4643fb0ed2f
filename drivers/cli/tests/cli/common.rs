//! Running the binary in a sandbox and reading what it printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// Returns the path of a recorded transcript in the repository.
pub fn transcript(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/transcripts")
        .join(name)
}

/// Reads a response body from the repository's fixtures.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    std::fs::read(&path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()))
}

/// A private home and cache folder for one test, removed when dropped.
pub struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// Returns a path inside the sandbox.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Returns the binary as a command with no credentials in its environment, the cache
    /// under the sandbox, and standard input that is not a terminal (so it never prompts).
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_autodiscover"));
        command
            .env_remove("AUTODISCOVER_PASSWORD")
            .env_remove("AUTODISCOVER_TOKEN")
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", self.path("xdg-cache"))
            .stdin(Stdio::null());
        command
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        Output::of(self.command().args(args))
    }
}

/// What one run of the binary printed, and how it exited.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn of(command: &mut Command) -> Self {
        let output = command.output().expect("the binary runs");
        Self {
            code: output.status.code().expect("the binary exits with a code"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Parses standard output as the `--json` document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not JSON ({error}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Returns the value of the summary line that starts with `label`, such as `EWS URL:`.
    pub fn field(&self, label: &str) -> Option<&str> {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .map(str::trim)
    }

    /// Asserts the exit code, showing both streams when it differs.
    pub fn assert_code(&self, expected: i32) {
        assert_eq!(
            self.code, expected,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
    }
}
