//! Object storage behind the emulated COS: per bucket, a sorted map from path to entry.
//!
//! Paths start with `/`; a directory's path ends with `/`. Directories exist explicitly (create folder)
//! or implicitly (a deeper object exists), so uploads need no prior `create`. Slice-upload sessions and
//! the set of already used single-use signatures live here too. Everything is in memory; callers hold
//! the lock only for map operations, never across an await.
//!
//! With a data directory (`serve --data-dir`), every object is also written through to disk, one
//! `{sha1(path)}.json` (metadata) and `.bin` (content) per entry under `{dir}/{appid}/{bucket}/`, and
//! loaded back by [`Store::open`]. Sessions and used signatures are not persisted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use super::codes::{self, CosCode};
use super::console::Authority;

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
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store persisted in `dir` (created if missing), with what an earlier run left there.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut inner = Inner::default();
        for appid_dir in std::fs::read_dir(dir)? {
            let appid_dir = appid_dir?.path();
            if !appid_dir.is_dir() {
                continue;
            }
            for bucket_dir in std::fs::read_dir(&appid_dir)? {
                let bucket_dir = bucket_dir?.path();
                if !bucket_dir.is_dir() {
                    continue;
                }
                for file in std::fs::read_dir(&bucket_dir)? {
                    let file = file?.path();
                    if file.extension().and_then(|e| e.to_str()) != Some("json") {
                        continue;
                    }
                    let bad = |e: String| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("{}: {e}", file.display()),
                        )
                    };
                    let record: Record = serde_json::from_slice(&std::fs::read(&file)?)
                        .map_err(|e| bad(e.to_string()))?;
                    let kind = if record.dir {
                        EntryKind::Dir
                    } else {
                        let content = Bytes::from(std::fs::read(file.with_extension("bin"))?);
                        EntryKind::File {
                            content,
                            sha: record.sha,
                            vid: record.vid,
                        }
                    };
                    inner
                        .buckets
                        .entry((record.appid, record.bucket))
                        .or_default()
                        .insert(
                            record.path,
                            Entry {
                                kind,
                                biz_attr: record.biz_attr,
                                ctime: record.ctime,
                                mtime: record.mtime,
                                authority: record.authority,
                                custom_headers: record.custom_headers,
                            },
                        );
                }
            }
        }
        Ok(Self {
            inner: Mutex::new(inner),
            dir: Some(dir.to_path_buf()),
        })
    }

    /// Writes (or with `None`, removes) one entry on disk. Disk errors are logged, not fatal: the
    /// in-memory store stays the truth for the running cloud.
    fn persist(&self, bucket: &BucketKey, path: &str, entry: Option<&Entry>) {
        let Some(dir) = &self.dir else {
            return;
        };
        let base = dir
            .join(bucket.0.to_string())
            .join(hex::encode(bucket.1.as_bytes()))
            .join(sha1_hex(path.as_bytes()));
        let result = (|| -> std::io::Result<()> {
            let Some(entry) = entry else {
                let _ = std::fs::remove_file(base.with_extension("bin"));
                return match std::fs::remove_file(base.with_extension("json")) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                };
            };
            if let Some(parent) = base.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let (is_dir, sha, vid) = match &entry.kind {
                EntryKind::Dir => (true, String::new(), String::new()),
                EntryKind::File { content, sha, vid } => {
                    std::fs::write(base.with_extension("bin"), content)?;
                    (false, sha.clone(), vid.clone())
                }
            };
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
            };
            let json = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
            std::fs::write(base.with_extension("json"), json)
        })();
        if let Err(e) = result {
            tracing::warn!("cos data dir: cannot persist {}{path}: {e}", bucket.1);
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
