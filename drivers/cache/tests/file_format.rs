//! The cache file on disk: its path, permissions, contents and damaged files.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use autodiscover::Flavor;
use autodiscover_cache::{
    default_path_from, CacheError, CacheStore, FileStore, FORMAT_VERSION, MAX_FILE_BYTES,
};
use common::{assert_same_entry, cache_path, entry, file_store, temp_dir};
use serde_json::Value;

const ENDPOINT: &str = "https://autodiscover.example.com/autodiscover/autodiscover.svc";

/// Returns a reader of the given environment variables, for [`default_path_from`].
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let vars: Vec<(String, OsString)> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), OsString::from(value)))
        .collect();
    move |name| {
        vars.iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.clone())
    }
}

/// Writes `contents` as the cache file of `dir`, creating its directory.
fn write_cache_file(dir: &tempfile::TempDir, contents: &[u8]) -> PathBuf {
    let path = cache_path(dir);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, contents).unwrap();
    path
}

/// Reads and parses the cache file of `dir`.
fn read_json(path: &Path) -> Value {
    let bytes = fs::read(path).expect("cache file missing");
    serde_json::from_slice(&bytes).expect("cache file is not JSON")
}

#[test]
fn default_path_prefers_xdg_cache_home() {
    let vars = env(&[("XDG_CACHE_HOME", "/xdg/cache"), ("HOME", "/home/alice")]);

    let path = default_path_from(vars);

    assert_eq!(
        path,
        Some(PathBuf::from("/xdg/cache/autodiscover-rs/endpoints.json"))
    );
}

#[test]
fn default_path_falls_back_to_home() {
    let vars = env(&[("HOME", "/home/alice")]);

    let path = default_path_from(vars);

    assert_eq!(
        path,
        Some(PathBuf::from(
            "/home/alice/.cache/autodiscover-rs/endpoints.json"
        ))
    );
}

#[test]
fn default_path_ignores_relative_or_empty_xdg() {
    for xdg in ["relative/cache", ""] {
        let vars = env(&[("XDG_CACHE_HOME", xdg), ("HOME", "/home/alice")]);

        let path = default_path_from(vars);

        assert_eq!(
            path,
            Some(PathBuf::from(
                "/home/alice/.cache/autodiscover-rs/endpoints.json"
            )),
            "XDG_CACHE_HOME={xdg:?}"
        );
    }
}

#[test]
fn default_path_none_without_absolute_home() {
    assert_eq!(default_path_from(env(&[])), None);
    assert_eq!(default_path_from(env(&[("HOME", "")])), None);
    assert_eq!(default_path_from(env(&[("HOME", "home/alice")])), None);
}

#[cfg(unix)]
mod permissions {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use autodiscover::Flavor;
    use autodiscover_cache::CacheStore;

    use super::common::{cache_path, entry, file_store, temp_dir};
    use super::ENDPOINT;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path)
            .expect("path missing")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn file_and_lock_are_0600() {
        let dir = temp_dir();
        let store = file_store(&dir);

        store.put("example.com", Some(entry(ENDPOINT, Flavor::Soap)));

        assert_eq!(mode(&cache_path(&dir)), 0o600, "cache file mode");
        assert_eq!(mode(store.lock_path()), 0o600, "lock file mode");
    }

    #[test]
    fn created_directory_is_0700() {
        let dir = temp_dir();
        let store = file_store(&dir);

        store.put("example.com", Some(entry(ENDPOINT, Flavor::Soap)));

        assert_eq!(mode(cache_path(&dir).parent().unwrap()), 0o700);
    }

    #[test]
    fn loose_file_mode_replaced_by_put() {
        let dir = temp_dir();
        let store = file_store(&dir);
        store.put("example.com", Some(entry(ENDPOINT, Flavor::Soap)));
        let path = cache_path(&dir);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

        store.put("example.org", Some(entry(ENDPOINT, Flavor::Soap)));

        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn no_temporary_files_left() {
        let dir = temp_dir();
        let store = file_store(&dir);

        store.put("example.com", Some(entry(ENDPOINT, Flavor::Soap)));
        store.put("example.org", Some(entry(ENDPOINT, Flavor::Pox)));

        let mut names: Vec<String> = fs::read_dir(cache_path(&dir).parent().unwrap())
            .unwrap()
            .map(|item| item.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["endpoints.json", "endpoints.json.lock"]);
    }
}

#[test]
fn raw_file_contains_only_entry_fields() {
    let dir = temp_dir();
    let store = file_store(&dir);
    let mut stored = entry(ENDPOINT, Flavor::Soap);
    stored.auth_scheme = Some("Negotiate".to_owned());

    store.put("Example.COM", Some(stored));

    let raw = fs::read_to_string(cache_path(&dir)).unwrap();
    let document: Value = serde_json::from_str(&raw).unwrap();
    let top_keys: BTreeSet<&str> = document
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top_keys, BTreeSet::from(["entries", "version"]));
    assert_eq!(document["version"], FORMAT_VERSION);

    let entries = document["entries"].as_object().unwrap();
    let domains: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(domains, ["example.com"], "domain not lowercased");

    let stored = entries["example.com"].as_object().unwrap();
    let fields: BTreeSet<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from(["auth_scheme", "endpoint", "flavor", "stored_at"])
    );
    assert_eq!(stored["endpoint"], ENDPOINT);
    assert_eq!(stored["flavor"], "soap");
    assert_eq!(stored["auth_scheme"], "Negotiate");
    assert!(
        stored["stored_at"].is_u64(),
        "stored_at is not unix seconds: {}",
        stored["stored_at"]
    );

    // Nothing that looks like a credential: the store never receives one, so this guards the
    // format against a future field that would carry one.
    let lowercase = raw.to_lowercase();
    for word in ["password", "token", "secret", "authorization", "user"] {
        assert!(
            !lowercase.contains(word),
            "cache file mentions {word:?}:\n{raw}"
        );
    }
}

/// A damaged file, and the warning it must produce.
struct DamagedCase {
    name: &'static str,
    contents: Vec<u8>,
    is_expected: fn(&CacheError) -> bool,
}

fn damaged_cases() -> Vec<DamagedCase> {
    vec![
        DamagedCase {
            name: "empty",
            contents: Vec::new(),
            is_expected: |warning| matches!(warning, CacheError::Empty { .. }),
        },
        DamagedCase {
            name: "whitespace",
            contents: b" \n\t\n".to_vec(),
            is_expected: |warning| matches!(warning, CacheError::Empty { .. }),
        },
        DamagedCase {
            name: "binary garbage",
            contents: vec![0x00, 0xff, 0xfe, b'{', 0x80, 0x00],
            is_expected: |warning| matches!(warning, CacheError::Invalid { .. }),
        },
        DamagedCase {
            name: "truncated",
            contents: br#"{"version":1,"entries":{"example.com":{"endpoint":"https://autodisc"#
                .to_vec(),
            is_expected: |warning| matches!(warning, CacheError::Invalid { .. }),
        },
        DamagedCase {
            name: "array",
            contents: b"[1, 2, 3]".to_vec(),
            is_expected: |warning| matches!(warning, CacheError::Invalid { .. }),
        },
        DamagedCase {
            name: "missing version",
            contents: br#"{"entries":{}}"#.to_vec(),
            is_expected: |warning| matches!(warning, CacheError::Invalid { .. }),
        },
        DamagedCase {
            name: "version as string",
            contents: br#"{"version":"1","entries":{}}"#.to_vec(),
            is_expected: |warning| matches!(warning, CacheError::Invalid { .. }),
        },
        DamagedCase {
            name: "entries not a map",
            contents: br#"{"version":1,"entries":[]}"#.to_vec(),
            is_expected: |warning| matches!(warning, CacheError::Invalid { .. }),
        },
        DamagedCase {
            name: "future version",
            contents: br#"{"version":2,"entries":{"example.com":["anything"]}}"#.to_vec(),
            is_expected: |warning| {
                matches!(warning, CacheError::UnsupportedVersion { version: 2, .. })
            },
        },
        DamagedCase {
            name: "version zero",
            contents: br#"{"version":0}"#.to_vec(),
            is_expected: |warning| {
                matches!(warning, CacheError::UnsupportedVersion { version: 0, .. })
            },
        },
        DamagedCase {
            name: "deep nesting",
            contents: [vec![b'['; 100_000], vec![b']'; 100_000]].concat(),
            is_expected: |warning| matches!(warning, CacheError::Invalid { .. }),
        },
    ]
}

#[test]
fn damaged_file_warns_and_put_repairs() {
    for case in damaged_cases() {
        let dir = temp_dir();
        let path = write_cache_file(&dir, &case.contents);
        let store = file_store(&dir);

        let found = store.get("example.com");
        let warnings = store.take_warnings();

        assert!(found.is_none(), "{}: damaged file gave an entry", case.name);
        assert_eq!(warnings.len(), 1, "{}: warnings {warnings:?}", case.name);
        assert!(
            (case.is_expected)(&warnings[0]),
            "{}: unexpected warning {:?}",
            case.name,
            warnings[0]
        );

        store.put("example.org", Some(entry(ENDPOINT, Flavor::Pox)));
        let repair_warnings = store.take_warnings();
        assert_eq!(
            repair_warnings.len(),
            1,
            "{}: put should report the damage once: {repair_warnings:?}",
            case.name
        );

        let reopened = FileStore::new(&path);
        let repaired = reopened.get("example.org");
        assert!(
            repaired.is_some(),
            "{}: entry missing after repair",
            case.name
        );
        let warnings = reopened.take_warnings();
        assert!(
            warnings.is_empty(),
            "{}: repaired file still warns: {warnings:?}",
            case.name
        );
        assert_eq!(read_json(&path)["version"], FORMAT_VERSION, "{}", case.name);
    }
}

#[test]
fn damaged_file_repaired_by_delete() {
    let dir = temp_dir();
    let path = write_cache_file(&dir, b"not json");
    let store = file_store(&dir);

    store.put("example.com", None);

    assert_eq!(read_json(&path)["entries"], serde_json::json!({}));
}

#[test]
fn invalid_entry_skipped_others_kept() {
    let dir = temp_dir();
    let contents = format!(
        r#"{{"version":1,"entries":{{
            "good.example":{{"endpoint":"{ENDPOINT}","flavor":"pox","auth_scheme":null,"stored_at":1767225600}},
            "bad-url.example":{{"endpoint":"not a url","flavor":"soap","auth_scheme":null,"stored_at":null}},
            "bad-flavor.example":{{"endpoint":"{ENDPOINT}","flavor":"smtp","auth_scheme":null,"stored_at":null}},
            "no-endpoint.example":{{"flavor":"soap"}},
            "not-an-object.example":42
        }}}}"#
    );
    let path = write_cache_file(&dir, contents.as_bytes());
    let store = file_store(&dir);

    let good = store.get("good.example").expect("good entry lost");
    let warnings = store.take_warnings();

    assert_eq!(good.flavor, Flavor::Pox);
    assert_eq!(good.endpoint.as_str(), ENDPOINT);
    assert_eq!(good.auth_scheme, None);
    let seconds = good
        .stored_at
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert_eq!(seconds.as_secs(), 1_767_225_600);
    let mut bad_domains: Vec<&str> = warnings
        .iter()
        .map(|warning| match warning {
            CacheError::InvalidEntry { domain, .. } => domain.as_str(),
            other => panic!("unexpected warning {other:?}"),
        })
        .collect();
    bad_domains.sort();
    assert_eq!(
        bad_domains,
        [
            "bad-flavor.example",
            "bad-url.example",
            "no-endpoint.example",
            "not-an-object.example"
        ]
    );

    store.put("other.example", Some(entry(ENDPOINT, Flavor::Soap)));
    let document = read_json(&path);
    let domains: Vec<&String> = document["entries"].as_object().unwrap().keys().collect();
    assert_eq!(domains, ["good.example", "other.example"]);
}

#[test]
fn stored_at_out_of_range_read_as_none() {
    let dir = temp_dir();
    let contents = format!(
        r#"{{"version":1,"entries":{{"example.com":{{"endpoint":"{ENDPOINT}","flavor":"soap","auth_scheme":null,"stored_at":18446744073709551615}}}}}}"#
    );
    write_cache_file(&dir, contents.as_bytes());
    let store = file_store(&dir);

    let found = store.get("example.com").expect("entry lost");

    assert_eq!(found.stored_at, None);
    assert!(store.take_warnings().is_empty());
}

#[test]
fn unknown_fields_ignored_then_dropped() {
    let dir = temp_dir();
    let contents = format!(
        r#"{{"version":1,"written_by":"test","entries":{{"example.com":{{"endpoint":"{ENDPOINT}","flavor":"soap","auth_scheme":"Basic","stored_at":1,"extra":true}}}}}}"#
    );
    let path = write_cache_file(&dir, contents.as_bytes());
    let store = file_store(&dir);

    let found = store.get("example.com");
    assert!(found.is_some(), "unknown fields rejected the entry");
    assert!(store.take_warnings().is_empty());

    store.put("example.org", Some(entry(ENDPOINT, Flavor::Soap)));
    let raw = fs::read_to_string(&path).unwrap();
    assert!(
        !raw.contains("written_by"),
        "unknown top-level field kept:\n{raw}"
    );
    assert!(!raw.contains("extra"), "unknown entry field kept:\n{raw}");
}

#[test]
fn mixed_case_keys_in_file_found() {
    let dir = temp_dir();
    let contents = format!(
        r#"{{"version":1,"entries":{{"Example.COM":{{"endpoint":"{ENDPOINT}","flavor":"soap","auth_scheme":null,"stored_at":null}}}}}}"#
    );
    write_cache_file(&dir, contents.as_bytes());
    let store = file_store(&dir);

    let found = store.get("example.com").expect("mixed-case key not found");

    assert_same_entry(&found, &{
        let mut expected = entry(ENDPOINT, Flavor::Soap);
        expected.auth_scheme = None;
        expected
    });
}

#[test]
fn oversized_file_warns_and_put_repairs() {
    let dir = temp_dir();
    let size = usize::try_from(MAX_FILE_BYTES).unwrap() + 1;
    let path = write_cache_file(&dir, &vec![b' '; size]);
    let store = file_store(&dir);

    let found = store.get("example.com");
    let warnings = store.take_warnings();

    assert!(found.is_none());
    assert!(
        matches!(warnings.as_slice(), [CacheError::TooLarge { .. }]),
        "warnings {warnings:?}"
    );

    store.put("example.com", Some(entry(ENDPOINT, Flavor::Soap)));
    assert!(
        fs::metadata(&path).unwrap().len() < 1024,
        "file not rewritten"
    );
}

#[test]
fn directory_at_cache_path_left_alone() {
    // A directory where the file should be is neither read nor replaced.
    let dir = temp_dir();
    let path = cache_path(&dir);
    fs::create_dir_all(&path).unwrap();
    let store = FileStore::new(&path);

    let found = store.get("example.com");
    let read_warnings = store.take_warnings();
    store.put("example.com", Some(entry(ENDPOINT, Flavor::Soap)));
    let write_warnings = store.take_warnings();
    store.clear();
    let clear_warnings = store.take_warnings();

    assert!(found.is_none());
    assert!(
        matches!(
            read_warnings.as_slice(),
            [CacheError::NotRegularFile {
                kind: "directory",
                ..
            }]
        ),
        "read warnings {read_warnings:?}"
    );
    assert!(
        matches!(
            write_warnings.as_slice(),
            [CacheError::NotRegularFile { .. }]
        ),
        "write warnings {write_warnings:?}"
    );
    assert!(
        matches!(
            clear_warnings.as_slice(),
            [CacheError::NotRegularFile { .. }]
        ),
        "clear warnings {clear_warnings:?}"
    );
    assert!(fs::metadata(&path).unwrap().is_dir());
}

#[test]
fn unwritable_directory_warns() {
    // A regular file in place of the cache directory stops every write, even for root.
    let dir = temp_dir();
    let blocker = dir.path().join("autodiscover-rs");
    fs::write(&blocker, b"not a directory").unwrap();
    let store = file_store(&dir);

    store.put("example.com", Some(entry(ENDPOINT, Flavor::Soap)));
    let put_warnings = store.take_warnings();
    store.clear();
    let clear_warnings = store.take_warnings();

    assert!(
        matches!(
            put_warnings.as_slice(),
            [CacheError::CreateDirectory { .. }]
        ),
        "put warnings {put_warnings:?}"
    );
    assert!(
        matches!(clear_warnings.as_slice(), [CacheError::Lock { .. }]),
        "clear warnings {clear_warnings:?}"
    );
    assert!(store.get("example.com").is_none());
}

#[test]
fn warning_messages_name_path() {
    let dir = temp_dir();
    let path = write_cache_file(&dir, b"{");
    let store = file_store(&dir);

    store.get("example.com");
    let warnings = store.take_warnings();

    let message = warnings[0].to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a valid cache document"), "{message}");
}

#[test]
fn warnings_are_bounded() {
    let dir = temp_dir();
    write_cache_file(&dir, b"garbage");
    let store = file_store(&dir);

    for _ in 0..200 {
        store.get("example.com");
    }
    let warnings = store.take_warnings();

    assert!(!warnings.is_empty());
    assert!(warnings.len() <= 64, "kept {} warnings", warnings.len());
    assert!(
        store.take_warnings().is_empty(),
        "take_warnings did not drain"
    );
}
