//! Object storage behind the emulated COS: per bucket, a sorted map from path to entry.
//!
//! Paths start with `/`; a directory's path ends with `/`. Directories exist explicitly (create folder)
//! or implicitly (a deeper object exists), so uploads need no prior `create`. Slice-upload sessions and
//! the set of already used single-use signatures live here too. Everything is in memory; callers hold
//! the lock only for map operations, never across an await.
//!
//! With a data directory (`serve --data-dir`), every object is also written through to disk, one
//! `{sha1(path)}.json` (metadata) and `{sha1(path)}-{sha1(content)}.bin` (content) per entry under
//! `{dir}/{appid}/{hex(bucket)}/`, and loaded back by [`Store::open`]; [`super::disk`] makes the writes
//! atomic and private and never follows a symlink. Sessions and used signatures are not persisted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use super::codes::{self, CosCode};
use super::console::Authority;
use super::disk;

/// `(appid, bucket name)`.
pub type BucketKey = (u64, String);

/// One file or directory.
#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: EntryKind,
    pub biz_attr: String,
    pub ctime: i64,
    pub mtime: i64,
    /// Set by `update`; `None` inherits the bucket's authority (`eInvalid`).
    pub authority: Option<Authority>,
    /// `Cache-Control`, `Content-Type`, ... and `x-cos-meta-*`, set by `update`.
    pub custom_headers: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug)]
pub enum EntryKind {
    Dir,
    File {
        content: Bytes,
        /// Lowercase hex SHA-1 of `content`.
        sha: String,
        vid: String,
    },
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, EntryKind::Dir)
    }
}

/// A file to store, with what the client said about it.
#[derive(Clone, Debug)]
pub struct NewFile {
    pub content: Bytes,
    pub sha: String,
    pub biz_attr: String,
    /// `insertOnly=1` (the SDK default): a different file at the path is not replaced.
    pub insert_only: bool,
}

/// A slice upload in progress.
#[derive(Clone, Debug)]
pub struct SliceSession {
    pub bucket: BucketKey,
    pub path: String,
    pub filesize: u64,
    pub slice_size: u64,
    pub sha: Option<String>,
    pub biz_attr: String,
    pub insert_only: bool,
    /// Received slices by offset.
    pub parts: BTreeMap<u64, Bytes>,
    /// Cloud time the session was opened (set by [`Store::open_session`]).
    pub opened_at: i64,
}

/// How long a slice-upload session lives, in cloud seconds. Tencent documents no lifetime for v4
/// sessions; a day is long enough for any SDK's resumable upload and keeps abandoned ones from piling up.
pub const SLICE_SESSION_LIFETIME: i64 = 24 * 3600;

/// Which children a list returns (`pattern`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListPattern {
    Both,
    FilesOnly,
    DirsOnly,
}

/// What a list asks for.
#[derive(Clone, Copy, Debug)]
pub struct ListQuery<'a> {
    /// The folder, ending with `/`.
    pub dir: &'a str,
    /// Only names starting with this.
    pub prefix: &'a str,
    pub num: usize,
    /// The last name of the previous page; empty for the first page.
    pub context: &'a str,
    pub pattern: ListPattern,
    /// `order=1`: names in descending order.
    pub reverse: bool,
}

/// One page of a directory listing.
#[derive(Clone, Debug)]
pub struct ListPage {
    /// `(name, entry)`; directory names end with `/`; implicit directories have no entry.
    pub items: Vec<(String, Option<Entry>)>,
    pub context: String,
    pub listover: bool,
}

#[derive(Default)]
struct Inner {
    buckets: HashMap<BucketKey, BTreeMap<String, Entry>>,
    sessions: HashMap<String, SliceSession>,
    used_signs: HashSet<[u8; 20]>,
    counter: u64,
}

/// The whole storage of the emulated COS.
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
    dir: Option<PathBuf>,
    load_warnings: Vec<String>,
}

/// The on-disk metadata of one entry.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    appid: u64,
    bucket: String,
    path: String,
    dir: bool,
    biz_attr: String,
    ctime: i64,
    mtime: i64,
    authority: Option<Authority>,
    custom_headers: serde_json::Map<String, serde_json::Value>,
    sha: String,
    vid: String,
    /// sha1 of the content, naming its `.bin`; empty in files of earlier versions (`{stem}.bin`).
    #[serde(default)]
    bin: String,
}

/// Largest `.json` record read back (metadata only; custom headers are the bulk).
const MAX_RECORD_BYTES: u64 = 1 << 20;
/// Largest content file read back.
const MAX_CONTENT_BYTES: u64 = 4 << 30;

/// A directory entry that is a plain directory (not a symlink), with its name; a symlink is reported.
fn plain_dir(
    entry: std::io::Result<std::fs::DirEntry>,
    warn: &mut impl FnMut(String),
) -> Option<(PathBuf, String)> {
    let entry = entry.ok()?;
    let path = entry.path();
    let ty = entry.file_type().ok()?;
    if ty.is_symlink() {
        warn(format!("{}: a symlink, not followed", path.display()));
        return None;
    }
    ty.is_dir()
        .then(|| (path, entry.file_name().to_string_lossy().into_owned()))
}

/// The content file a record names: `{stem}-{bin}.bin`, or `{stem}.bin` for records without `bin`;
/// `None` when `bin` is not a sha1 (it must not become a path of its own).
fn bin_path(bucket_dir: &Path, stem: &str, bin: &str) -> Option<PathBuf> {
    if bin.is_empty() {
        return Some(bucket_dir.join(format!("{stem}.bin")));
    }
    (bin.len() == 40 && bin.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| bucket_dir.join(format!("{stem}-{bin}.bin")))
}

/// One entry from `{stem}.json` (and its content file) in the directory of `(appid, bucket)`.
fn load_entry(
    bucket_dir: &Path,
    stem: &str,
    appid: u64,
    bucket: &str,
) -> Result<(String, Entry), String> {
    let json = disk::read_nofollow(&bucket_dir.join(format!("{stem}.json")), MAX_RECORD_BYTES)
        .map_err(|e| e.to_string())?;
    let record: Record = serde_json::from_slice(&json).map_err(|e| format!("corrupt: {e}"))?;
    // A record copied into another bucket's directory must not appear there.
    if record.appid != appid || record.bucket != bucket || sha1_hex(record.path.as_bytes()) != stem
    {
        return Err("its path, bucket or appid does not match where it lies".into());
    }
    let kind = if record.dir {
        EntryKind::Dir
    } else {
        let bin = bin_path(bucket_dir, stem, &record.bin).ok_or("names no valid content file")?;
        let content = disk::read_nofollow(&bin, MAX_CONTENT_BYTES)
            .map_err(|e| format!("content {}: {e}", bin.display()))?;
        if !record.bin.is_empty() && sha1_hex(&content) != record.bin {
            return Err(format!("content {} truncated or changed", bin.display()));
        }
        EntryKind::File {
            content: Bytes::from(content),
            sha: record.sha,
            vid: record.vid,
        }
    };
    Ok((
        record.path,
        Entry {
            kind,
            biz_attr: record.biz_attr,
            ctime: record.ctime,
            mtime: record.mtime,
            authority: record.authority,
            custom_headers: record.custom_headers,
        },
    ))
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store persisted in `dir` (created 0700 if missing), with what an earlier run left there.
    /// Nothing below `dir` is followed through a symlink; an entry whose files are corrupt, truncated,
    /// misplaced or links is skipped with a warning naming the file (see [`Store::load_warnings`]), so
    /// one damaged file cannot keep the cloud from starting.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let mut inner = Inner::default();
        let mut warnings = Vec::new();
        let mut warn = |what: String| {
            tracing::warn!(target: "tcharness::cos", "data dir: {what}");
            warnings.push(what);
        };
        for appid_dir in std::fs::read_dir(dir)? {
            let Some((appid_dir, name)) = plain_dir(appid_dir, &mut warn) else {
                continue;
            };
            let Ok(appid) = name.parse::<u64>() else {
                warn(format!(
                    "{}: not an appid directory, skipped",
                    appid_dir.display()
                ));
                continue;
            };
            let buckets = match std::fs::read_dir(&appid_dir) {
                Ok(b) => b,
                Err(e) => {
                    warn(format!("{}: {e}, skipped", appid_dir.display()));
                    continue;
                }
            };
            for bucket_dir in buckets {
                let Some((bucket_dir, name)) = plain_dir(bucket_dir, &mut warn) else {
                    continue;
                };
                let Some(bucket) = hex::decode(&name)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                else {
                    warn(format!(
                        "{}: not a bucket directory, skipped",
                        bucket_dir.display()
                    ));
                    continue;
                };
                let files = match std::fs::read_dir(&bucket_dir) {
                    Ok(f) => f,
                    Err(e) => {
                        warn(format!("{}: {e}, skipped", bucket_dir.display()));
                        continue;
                    }
                };
                for file in files.flatten() {
                    let path = file.path();
                    let name = file.file_name().to_string_lossy().into_owned();
                    if name.starts_with(disk::TEMP_PREFIX) {
                        // A write a crash interrupted; the renamed version (if any) is the truth.
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    let Some(stem) = name.strip_suffix(".json") else {
                        continue;
                    };
                    match load_entry(&bucket_dir, stem, appid, &bucket) {
                        Ok((key, entry)) => {
                            inner
                                .buckets
                                .entry((appid, bucket.clone()))
                                .or_default()
                                .insert(key, entry);
                        }
                        Err(e) => warn(format!("{}: {e}, skipped", path.display())),
                    }
                }
            }
        }
        Ok(Self {
            inner: Mutex::new(inner),
            dir: Some(dir.to_path_buf()),
            load_warnings: warnings,
        })
    }

    /// Removes every object, session and used signature, on disk too (`/_tcharness/reset`).
    pub fn clear(&self) {
        let buckets = std::mem::take(&mut *self.lock());
        for (bucket, entries) in &buckets.buckets {
            for path in entries.keys() {
                self.persist(bucket, path, None);
            }
        }
    }

    /// What [`Store::open`] skipped, one line per file.
    pub fn load_warnings(&self) -> &[String] {
        &self.load_warnings
    }

    /// Writes (or with `None`, removes) one entry on disk. Disk errors are logged, not fatal: the
    /// in-memory store stays the truth for the running cloud.
    ///
    /// The content goes to `{sha1(path)}-{sha1(content)}.bin` first, then the metadata naming it is
    /// renamed into place: the `.json` rename is the commit point, so a crash between the two leaves the
    /// previous version whole. The previous content file is removed after the commit.
    fn persist(&self, bucket: &BucketKey, path: &str, entry: Option<&Entry>) {
        let Some(dir) = &self.dir else {
            return;
        };
        let appid_dir = dir.join(bucket.0.to_string());
        let bucket_dir = appid_dir.join(hex::encode(bucket.1.as_bytes()));
        let stem = sha1_hex(path.as_bytes());
        let json_path = bucket_dir.join(format!("{stem}.json"));
        let result = (|| -> std::io::Result<()> {
            disk::ensure_dir(&appid_dir)?;
            disk::ensure_dir(&bucket_dir)?;
            let old_bin = disk::read_nofollow(&json_path, MAX_RECORD_BYTES)
                .ok()
                .and_then(|j| serde_json::from_slice::<Record>(&j).ok())
                .and_then(|r| bin_path(&bucket_dir, &stem, &r.bin));
            let remove_old = |keep: Option<&Path>| {
                for old in [
                    old_bin.clone(),
                    Some(bucket_dir.join(format!("{stem}.bin"))),
                ]
                .into_iter()
                .flatten()
                {
                    if Some(old.as_path()) != keep {
                        let _ = std::fs::remove_file(&old);
                    }
                }
            };
            let Some(entry) = entry else {
                match std::fs::remove_file(&json_path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                remove_old(None);
                return Ok(());
            };
            let (is_dir, sha, vid, bin) = match &entry.kind {
                EntryKind::Dir => (true, String::new(), String::new(), String::new()),
                EntryKind::File { content, sha, vid } => {
                    let bin = sha1_hex(content);
                    disk::write_atomic(&bucket_dir.join(format!("{stem}-{bin}.bin")), content)?;
                    (false, sha.clone(), vid.clone(), bin)
                }
            };
            let new_bin = bin_path(&bucket_dir, &stem, &bin);
            let record = Record {
                appid: bucket.0,
                bucket: bucket.1.clone(),
                path: path.to_string(),
                dir: is_dir,
                biz_attr: entry.biz_attr.clone(),
                ctime: entry.ctime,
                mtime: entry.mtime,
                authority: entry.authority,
                custom_headers: entry.custom_headers.clone(),
                sha,
                vid,
                bin,
            };
            let json = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
            disk::write_atomic(&json_path, &json)?;
            remove_old(new_bin.as_deref());
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(target: "tcharness::cos", "data dir: cannot persist {}{path}: {e}", bucket.1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Map operations cannot leave a half-updated map behind, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a single-use signature; false if it was used before.
    pub fn use_once(&self, mac: [u8; 20]) -> bool {
        self.lock().used_signs.insert(mac)
    }

    pub fn get(&self, bucket: &BucketKey, path: &str) -> Option<Entry> {
        self.lock().buckets.get(bucket)?.get(path).cloned()
    }

    /// Whether a directory exists, explicitly or because something lies below it. `/` always exists.
    pub fn dir_exists(&self, bucket: &BucketKey, dir: &str) -> bool {
        let inner = self.lock();
        dir == "/"
            || inner
                .buckets
                .get(bucket)
                .is_some_and(|m| dir_exists_in(m, dir))
    }

    /// Stores a file (upload, or the end of a slice upload).
    ///
    /// Same path and same content again with `insert_only` is -4018 `ERROR_SAME_FILE_UPLOAD` (§8.4;
    /// Tencent's sync tool counts it as success), without it succeeds with the stored entry; different
    /// content with `insert_only` is -177; a directory at the path, or a file where a parent directory
    /// should be, is -178.
    pub fn put_file(
        &self,
        bucket: &BucketKey,
        path: &str,
        file: NewFile,
        now: i64,
    ) -> Result<Entry, CosCode> {
        let mut inner = self.lock();
        inner.counter += 1;
        let counter = inner.counter;
        let map = inner.buckets.entry(bucket.clone()).or_default();
        check_parents(map, path)?;
        if dir_exists_in(map, &format!("{path}/")) {
            return Err(codes::ERROR_CMD_COS_PATH_CONFLICT);
        }
        let previous = map.get(path).cloned();
        if let Some(old) = &previous
            && let EntryKind::File { sha, .. } = &old.kind
        {
            if *sha == file.sha {
                if file.insert_only {
                    return Err(codes::ERROR_SAME_FILE_UPLOAD);
                }
                return Ok(old.clone());
            }
            if file.insert_only {
                return Err(codes::ERROR_CMD_COS_FILE_EXIST);
            }
        }
        let vid = make_vid(bucket, path, counter, now);
        let entry = Entry {
            kind: EntryKind::File {
                content: file.content,
                sha: file.sha,
                vid,
            },
            biz_attr: file.biz_attr,
            ctime: previous.as_ref().map_or(now, |p| p.ctime),
            mtime: now,
            authority: previous.as_ref().and_then(|p| p.authority),
            custom_headers: previous.map(|p| p.custom_headers).unwrap_or_default(),
        };
        map.insert(path.to_string(), entry.clone());
        self.persist(bucket, path, Some(&entry));
        Ok(entry)
    }

    /// Creates a folder; -178 if the path (or a file at its name) exists.
    pub fn create_dir(
        &self,
        bucket: &BucketKey,
        dir: &str,
        biz_attr: &str,
        now: i64,
    ) -> Result<Entry, CosCode> {
        let mut inner = self.lock();
        let map = inner.buckets.entry(bucket.clone()).or_default();
        check_parents(map, dir)?;
        let as_file = dir.trim_end_matches('/');
        if dir == "/" || map.contains_key(dir) || map.contains_key(as_file) {
            return Err(codes::ERROR_CMD_COS_PATH_CONFLICT);
        }
        let entry = Entry {
            kind: EntryKind::Dir,
            biz_attr: biz_attr.to_string(),
            ctime: now,
            mtime: now,
            authority: None,
            custom_headers: Default::default(),
        };
        map.insert(dir.to_string(), entry.clone());
        self.persist(bucket, dir, Some(&entry));
        Ok(entry)
    }

    /// Deletes a file or an empty directory.
    pub fn delete(&self, bucket: &BucketKey, path: &str) -> Result<(), CosCode> {
        let mut inner = self.lock();
        let Some(map) = inner.buckets.get_mut(bucket) else {
            return Err(codes::ERROR_CMD_FILE_NOTEXIST);
        };
        if path == "/" {
            return Err(codes::ERROR_CMD_COS_INVALID_PATH);
        }
        if path.ends_with('/') {
            let has_children = map
                .range(path.to_string()..)
                .take_while(|(k, _)| k.starts_with(path))
                .any(|(k, _)| k != path);
            if has_children {
                return Err(codes::ERROR_CMD_COS_DIR_NOT_EMPTY);
            }
        }
        map.remove(path).ok_or(codes::ERROR_CMD_FILE_NOTEXIST)?;
        self.persist(bucket, path, None);
        Ok(())
    }

    /// Changes an entry's attributes in place.
    pub fn update(
        &self,
        bucket: &BucketKey,
        path: &str,
        now: i64,
        change: impl FnOnce(&mut Entry),
    ) -> Result<Entry, CosCode> {
        let mut inner = self.lock();
        let entry = inner
            .buckets
            .get_mut(bucket)
            .and_then(|m| m.get_mut(path))
            .ok_or(codes::ERROR_CMD_FILE_NOTEXIST)?;
        change(entry);
        entry.mtime = now;
        let entry = entry.clone();
        self.persist(bucket, path, Some(&entry));
        Ok(entry)
    }

    /// Copies (or moves) a file within a bucket.
    pub fn copy(
        &self,
        bucket: &BucketKey,
        from: &str,
        to: &str,
        overwrite: bool,
        remove_source: bool,
        now: i64,
    ) -> Result<Entry, CosCode> {
        let mut inner = self.lock();
        let map = inner
            .buckets
            .get_mut(bucket)
            .ok_or(codes::ERROR_CMD_FILE_NOTEXIST)?;
        let source = map
            .get(from)
            .cloned()
            .ok_or(codes::ERROR_CMD_FILE_NOTEXIST)?;
        if source.is_dir() || to.ends_with('/') {
            return Err(codes::ERROR_CMD_COS_INVALID_PATH);
        }
        check_parents(map, to)?;
        if dir_exists_in(map, &format!("{to}/")) {
            return Err(codes::ERROR_CMD_COS_PATH_CONFLICT);
        }
        if from == to {
            return Ok(source);
        }
        if map.contains_key(to) && !overwrite {
            return Err(codes::ERROR_CMD_COS_FILE_EXIST);
        }
        let mut copy = source;
        copy.mtime = now;
        map.insert(to.to_string(), copy.clone());
        self.persist(bucket, to, Some(&copy));
        if remove_source {
            map.remove(from);
            self.persist(bucket, from, None);
        }
        Ok(copy)
    }

    /// Lists the children of `q.dir` whose names start with `q.prefix`, one page after `q.context`.
    pub fn list(&self, bucket: &BucketKey, q: ListQuery<'_>) -> Result<ListPage, CosCode> {
        let ListQuery {
            dir,
            prefix,
            num,
            context,
            pattern,
            reverse,
        } = q;
        let inner = self.lock();
        let empty = BTreeMap::new();
        let map = inner.buckets.get(bucket).unwrap_or(&empty);
        if dir != "/" && !dir_exists_in(map, dir) {
            return Err(codes::ERROR_CMD_COS_INDEX_ERROR);
        }
        let start = format!("{dir}{prefix}");
        let mut children: BTreeMap<String, Option<Entry>> = BTreeMap::new();
        for (key, entry) in map
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
        {
            let rest = &key[dir.len()..];
            if rest.is_empty() {
                continue;
            }
            match rest.find('/') {
                Some(slash) if slash + 1 == rest.len() => {
                    children.insert(rest.to_string(), Some(entry.clone()));
                }
                Some(slash) => {
                    children.entry(rest[..=slash].to_string()).or_insert(None);
                }
                None => {
                    children.insert(rest.to_string(), Some(entry.clone()));
                }
            }
        }
        let mut names: Vec<(String, Option<Entry>)> = children
            .into_iter()
            .filter(|(name, _)| match pattern {
                ListPattern::Both => true,
                ListPattern::FilesOnly => !name.ends_with('/'),
                ListPattern::DirsOnly => name.ends_with('/'),
            })
            .collect();
        if reverse {
            names.reverse();
        }
        let from = if context.is_empty() {
            0
        } else {
            names
                .iter()
                .position(|(n, _)| {
                    if reverse {
                        n.as_str() < context
                    } else {
                        n.as_str() > context
                    }
                })
                .unwrap_or(names.len())
        };
        let items: Vec<_> = names.into_iter().skip(from).collect();
        let listover = items.len() <= num;
        let items: Vec<_> = items.into_iter().take(num).collect();
        let context = if listover {
            String::new()
        } else {
            items.last().map(|(n, _)| n.clone()).unwrap_or_default()
        };
        Ok(ListPage {
            items,
            context,
            listover,
        })
    }

    /// Opens a slice-upload session and returns its id.
    pub fn open_session(&self, mut session: SliceSession, now: i64) -> String {
        let mut inner = self.lock();
        inner
            .sessions
            .retain(|_, s| now - s.opened_at < SLICE_SESSION_LIFETIME);
        session.opened_at = now;
        inner.counter += 1;
        let id = hex::encode(Sha1::digest(format!(
            "{}{}{}{}",
            session.bucket.0, session.path, inner.counter, now
        )));
        inner.sessions.insert(id.clone(), session);
        id
    }

    /// The session `id` unless it expired by `now` (an expired one is dropped with its slices).
    pub fn session(&self, id: &str, now: i64) -> Option<SliceSession> {
        let mut inner = self.lock();
        let expired = inner
            .sessions
            .get(id)
            .is_some_and(|s| now - s.opened_at >= SLICE_SESSION_LIFETIME);
        if expired {
            inner.sessions.remove(id);
            return None;
        }
        inner.sessions.get(id).cloned()
    }

    /// Adds one slice. It must lie inside the announced file size and must not overlap another slice;
    /// the same slice sent again (an SDK's retry: same offset, same length) replaces the first copy.
    /// Tencent's code for an overlap is not documented: it gets -175 like a slice past the size.
    pub fn add_slice(&self, id: &str, offset: u64, data: Bytes) -> Result<(), CosCode> {
        let mut inner = self.lock();
        let session = inner
            .sessions
            .get_mut(id)
            .ok_or(codes::ERROR_CGI_PARAM_INVALID)?;
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(codes::ERROR_CMD_COS_FILE_SIZE_NOT_EQU)?;
        if end > session.filesize {
            return Err(codes::ERROR_CMD_COS_FILE_SIZE_NOT_EQU);
        }
        let retry = session
            .parts
            .get(&offset)
            .is_some_and(|p| p.len() == data.len());
        if !retry {
            let before = session.parts.range(..=offset).next_back();
            let overlaps_before = before.is_some_and(|(o, p)| o + p.len() as u64 > offset);
            let overlaps_after = session
                .parts
                .range(offset..)
                .next()
                .is_some_and(|(o, _)| *o < end);
            if overlaps_before || overlaps_after {
                return Err(codes::ERROR_CMD_COS_FILE_SIZE_NOT_EQU);
            }
        }
        session.parts.insert(offset, data);
        Ok(())
    }

    /// Removes a session and joins its slices; -175 unless they cover `[0, filesize)` exactly.
    pub fn close_session(
        &self,
        id: &str,
        filesize: Option<u64>,
    ) -> Result<(SliceSession, Bytes), CosCode> {
        let mut inner = self.lock();
        let session = inner
            .sessions
            .get(id)
            .ok_or(codes::ERROR_CGI_PARAM_INVALID)?;
        if filesize.is_some_and(|f| f != session.filesize) {
            return Err(codes::ERROR_CMD_COS_FILE_SIZE_NOT_EQU);
        }
        let mut joined = Vec::with_capacity(session.filesize.min(1 << 30) as usize);
        for (offset, data) in &session.parts {
            if *offset != joined.len() as u64 {
                return Err(codes::ERROR_CMD_COS_FILE_SIZE_NOT_EQU);
            }
            joined.extend_from_slice(data);
        }
        if joined.len() as u64 != session.filesize {
            return Err(codes::ERROR_CMD_COS_FILE_SIZE_NOT_EQU);
        }
        let session = inner
            .sessions
            .remove(id)
            .ok_or(codes::ERROR_CGI_PARAM_INVALID)?;
        Ok((session, Bytes::from(joined)))
    }

    /// Finds a stored file with this content in the bucket at `path` (instant upload).
    pub fn same_file(&self, bucket: &BucketKey, path: &str, sha: &str) -> Option<Entry> {
        self.get(bucket, path).filter(|e| match &e.kind {
            EntryKind::File { sha: s, .. } => s == sha,
            EntryKind::Dir => false,
        })
    }
}

fn dir_exists_in(map: &BTreeMap<String, Entry>, dir: &str) -> bool {
    map.range(dir.to_string()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(dir))
}

/// -178 if a file sits where one of `path`'s parent directories should be.
fn check_parents(map: &BTreeMap<String, Entry>, path: &str) -> Result<(), CosCode> {
    let trimmed = path.trim_end_matches('/');
    for (i, b) in trimmed.bytes().enumerate().skip(1) {
        if b == b'/' && map.get(&trimmed[..i]).is_some_and(|e| !e.is_dir()) {
            return Err(codes::ERROR_CMD_COS_PATH_CONFLICT);
        }
    }
    Ok(())
}

/// 42 characters like the real ones: 32 hex digits, then the 10-digit upload time.
fn make_vid(bucket: &BucketKey, path: &str, counter: u64, now: i64) -> String {
    let digest = Sha1::digest(format!("{}/{}{}#{}", bucket.0, bucket.1, path, counter));
    format!(
        "{}{:010}",
        &hex::encode(digest)[..32],
        now.rem_euclid(10_000_000_000)
    )
}

/// Lowercase hex SHA-1.
pub fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(dir: &'a str, num: usize, context: &'a str) -> ListQuery<'a> {
        ListQuery {
            dir,
            prefix: "",
            num,
            context,
            pattern: ListPattern::Both,
            reverse: false,
        }
    }

    fn key() -> BucketKey {
        (1, "b".into())
    }

    fn file(content: &'static [u8], insert_only: bool) -> NewFile {
        NewFile {
            content: Bytes::from_static(content),
            sha: sha1_hex(content),
            biz_attr: String::new(),
            insert_only,
        }
    }

    #[test]
    fn same_content_is_idempotent_and_different_content_is_refused() {
        let store = Store::new();
        let first = store
            .put_file(&key(), "/a.jpg", file(b"x", true), 1)
            .unwrap();
        let same = store
            .put_file(&key(), "/a.jpg", file(b"x", true), 2)
            .unwrap_err();
        assert_eq!((same.code, same.message), (-4018, "ERROR_SAME_FILE_UPLOAD"));
        let again = store
            .put_file(&key(), "/a.jpg", file(b"x", false), 2)
            .unwrap();
        assert_eq!(first.mtime, again.mtime);
        let err = store
            .put_file(&key(), "/a.jpg", file(b"y", true), 3)
            .unwrap_err();
        assert_eq!(err, codes::ERROR_CMD_COS_FILE_EXIST);
        assert!(
            store
                .put_file(&key(), "/a.jpg", file(b"y", false), 3)
                .is_ok()
        );
    }

    #[test]
    fn files_and_dirs_cannot_share_a_name() {
        let store = Store::new();
        store
            .put_file(&key(), "/d/x.jpg", file(b"x", true), 1)
            .unwrap();
        assert!(store.dir_exists(&key(), "/d/"));
        assert_eq!(
            store
                .put_file(&key(), "/d", file(b"x", true), 1)
                .unwrap_err(),
            codes::ERROR_CMD_COS_PATH_CONFLICT
        );
        assert_eq!(
            store
                .put_file(&key(), "/d/x.jpg/y", file(b"x", true), 1)
                .unwrap_err(),
            codes::ERROR_CMD_COS_PATH_CONFLICT
        );
    }

    #[test]
    fn a_data_dir_keeps_objects_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .put_file(&key(), "/keep.jpg", file(b"kept", true), 5)
                .unwrap();
            store
                .put_file(&key(), "/drop.jpg", file(b"x", true), 5)
                .unwrap();
            store.create_dir(&key(), "/album/", "attr", 6).unwrap();
            store.delete(&key(), "/drop.jpg").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let kept = store.get(&key(), "/keep.jpg").unwrap();
        assert!(
            matches!(&kept.kind, EntryKind::File { content, .. } if content.as_ref() == b"kept")
        );
        assert!(store.get(&key(), "/drop.jpg").is_none());
        assert_eq!(store.get(&key(), "/album/").unwrap().biz_attr, "attr");
    }

    /// The directory of [`key`]'s bucket in a data dir.
    fn bucket_dir(root: &Path) -> PathBuf {
        root.join(key().0.to_string())
            .join(hex::encode(key().1.as_bytes()))
    }

    #[test]
    fn a_damaged_or_planted_file_is_skipped_with_a_warning_and_the_rest_loads() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            for name in [
                "/ok.jpg",
                "/truncated.json",
                "/truncated.bin",
                "/linked.jpg",
            ] {
                store
                    .put_file(&key(), name, file(b"some content", true), 5)
                    .unwrap();
            }
        }
        let bdir = bucket_dir(dir.path());
        let stem = |p: &str| sha1_hex(p.as_bytes());
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&bdir), 0o700);
        assert_eq!(mode(&bdir.join(format!("{}.json", stem("/ok.jpg")))), 0o600);
        // A truncated record, a truncated content file, a content file replaced by a link to a secret.
        let json = bdir.join(format!("{}.json", stem("/truncated.json")));
        let text = std::fs::read(&json).unwrap();
        std::fs::write(&json, &text[..text.len() / 2]).unwrap();
        let bin_of = |p: &str| bdir.join(format!("{}-{}.bin", stem(p), sha1_hex(b"some content")));
        std::fs::write(bin_of("/truncated.bin"), b"some").unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, b"root:x:0:0").unwrap();
        std::fs::remove_file(bin_of("/linked.jpg")).unwrap();
        symlink(&secret, bin_of("/linked.jpg")).unwrap();
        // A whole bucket directory planted as a link to elsewhere.
        let elsewhere = tempfile::tempdir().unwrap();
        symlink(
            elsewhere.path(),
            dir.path().join("1").join(hex::encode(b"planted")),
        )
        .unwrap();

        let store = Store::open(dir.path()).unwrap();
        assert!(store.get(&key(), "/ok.jpg").is_some());
        for gone in ["/truncated.json", "/truncated.bin", "/linked.jpg"] {
            assert!(store.get(&key(), gone).is_none(), "{gone} loaded");
        }
        let warnings = store.load_warnings().join("\n");
        assert!(
            warnings.contains(&format!("{}.json: corrupt", stem("/truncated.json"))),
            "{warnings}"
        );
        assert!(warnings.contains("truncated or changed"), "{warnings}");
        assert!(warnings.contains("a symlink, not followed"), "{warnings}");
        assert_eq!(store.load_warnings().len(), 4, "{warnings}");

        // Writing into a bucket whose directory is a planted link is refused, nothing lands outside.
        let planted = (1, "planted".to_string());
        store
            .put_file(&planted, "/x.jpg", file(b"x", true), 5)
            .unwrap();
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn overwriting_keeps_one_content_file_and_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .put_file(&key(), "/a.jpg", file(b"one", false), 5)
            .unwrap();
        store
            .put_file(&key(), "/a.jpg", file(b"two", false), 6)
            .unwrap();
        let names: Vec<String> = std::fs::read_dir(bucket_dir(dir.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            names
                .iter()
                .any(|n| n.ends_with(&format!("-{}.bin", sha1_hex(b"two"))))
        );
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let a = store.get(&key(), "/a.jpg").unwrap();
        assert!(matches!(&a.kind, EntryKind::File { content, .. } if content.as_ref() == b"two"));
        store.delete(&key(), "/a.jpg").unwrap();
        assert_eq!(
            std::fs::read_dir(bucket_dir(dir.path())).unwrap().count(),
            0
        );
    }

    #[test]
    fn list_pages_with_context() {
        let store = Store::new();
        for name in ["/p/1", "/p/2", "/p/3", "/p/sub/4"] {
            store.put_file(&key(), name, file(b"x", true), 1).unwrap();
        }
        let page = store.list(&key(), query("/p/", 2, "")).unwrap();
        let names: Vec<_> = page.items.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["1", "2"]);
        assert!(!page.listover);
        let next = store.list(&key(), query("/p/", 2, &page.context)).unwrap();
        let names: Vec<_> = next.items.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["3", "sub/"]);
        assert!(next.listover);
    }
}
