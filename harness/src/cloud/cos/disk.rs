//! File operations of the COS data directory that cannot be redirected: no symlink is ever followed
//! below the directory (a planted link must not serve `/etc/passwd` or write outside it), every write
//! is a temp file renamed into place (a crash leaves the old version or the new one, never half), and
//! what is created is private to the user (files 0600, directories 0700): objects and their metadata
//! are the tenant's data.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of temp files; a leftover one (a crash mid-write) is removed when the store is opened.
pub const TEMP_PREFIX: &str = ".tmp-";

/// The directory `path`, created 0700 if missing; an existing symlink or non-directory is refused.
pub fn ensure_dir(path: &Path) -> io::Result<()> {
    match DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a plain directory (symlink?)", path.display()),
        ));
    }
    Ok(())
}

/// Opens a regular file for reading without following a symlink at its last component.
fn open_nofollow(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    // O_NONBLOCK keeps a planted FIFO from hanging the open; a regular file is all we read.
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a regular file", path.display()),
        ));
    }
    Ok(f)
}

/// Reads a regular file (no symlink), at most `max` bytes; a longer file is an error.
pub fn read_nofollow(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let f = open_nofollow(path)?;
    let mut out = Vec::new();
    f.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: larger than {max} bytes", path.display()),
        ));
    }
    Ok(out)
}

/// Replaces `path` with `data` atomically: a fresh 0600 temp file in the same directory, synced, then
/// renamed over `path` (rename replaces a symlink itself, never its target).
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a file path without a directory"))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("a file path without a name"))?;
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{}-{}-{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_are_private_and_replace_a_symlink_instead_of_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"secret").unwrap();
        let inner = dir.path().join("d");
        ensure_dir(&inner).unwrap();
        let target = inner.join("f.json");
        std::os::unix::fs::symlink(&outside, &target).unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"secret");
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o600);
        assert_eq!(mode(&inner), 0o700);
        assert_eq!(
            std::fs::read_dir(&inner).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn reads_refuse_symlinks_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, b"12345").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(read_nofollow(&link, 100).is_err());
        assert_eq!(read_nofollow(&real, 5).unwrap(), b"12345");
        assert!(read_nofollow(&real, 4).is_err());
        let linked_dir = dir.path().join("ld");
        std::os::unix::fs::symlink(dir.path(), &linked_dir).unwrap();
        assert!(ensure_dir(&linked_dir).is_err());
    }
}
