//! The default location of the cache file.

use std::ffi::OsString;
use std::path::PathBuf;

/// The directory, under the user's cache directory, that contains the cache file.
pub const CACHE_DIRECTORY_NAME: &str = "autodiscover-rs";

/// The name of the cache file.
pub const CACHE_FILE_NAME: &str = "endpoints.json";

/// Returns the default cache file path, read from this process's environment.
///
/// See [`default_path_from`] for the rules.
pub fn default_path() -> Option<PathBuf> {
    default_path_from(|name| std::env::var_os(name))
}

/// Returns the default cache file path, reading environment variables through `env_var`.
///
/// The path is `$XDG_CACHE_HOME/autodiscover-rs/endpoints.json` when `XDG_CACHE_HOME` is an
/// absolute path, else `$HOME/.cache/autodiscover-rs/endpoints.json` when `HOME` is one. A
/// relative or empty `XDG_CACHE_HOME` is ignored, because the XDG Base Directory Specification
/// (version 0.7) requires absolute paths and calls a relative one invalid. Returns `None` when
/// neither variable gives an absolute path.
///
/// NOTE: Windows usually sets neither variable, so there this returns `None` and the caller
/// must pass a path to [`FileStore::new`](crate::FileStore::new).
pub fn default_path_from(env_var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let cache_home = match absolute(env_var("XDG_CACHE_HOME")) {
        Some(cache_home) => cache_home,
        None => absolute(env_var("HOME"))?.join(".cache"),
    };
    Some(cache_home.join(CACHE_DIRECTORY_NAME).join(CACHE_FILE_NAME))
}

/// Returns `value` as a path when it is an absolute one.
fn absolute(value: Option<OsString>) -> Option<PathBuf> {
    let path = PathBuf::from(value?);
    path.is_absolute().then_some(path)
}
