//! Hosted accounts (托管模式): usernames and passwords kept by the TLS service for one IM app.
//!
//! Passwords are kept as salted SHA-256 digests: the emulator never needs them back, and a journal or
//! debug dump must not show them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Longest username (TLS identifiers are at most 32 bytes).
pub const MAX_USERNAME_LEN: usize = 32;
/// Longest password accepted. GAP: TLS does not publish one; 64 covers any app's own rule.
pub const MAX_PASSWORD_LEN: usize = 64;

#[derive(Clone, Debug)]
struct Account {
    password_digest: [u8; 32],
}

/// Why a registration or a password login did not go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountError {
    /// Registration of a username that exists (`ACCOUNT_REGISTERED`).
    AlreadyRegistered,
    /// Password login of a username that was never registered (login code 229, 0xe5).
    NoSuchAccount,
    /// Password login with the wrong password (login code 1).
    WrongPassword,
}

/// Every hosted account of every app, keyed by (sdkappid, username).
#[derive(Debug, Default)]
pub struct Accounts {
    accounts: Mutex<HashMap<(u64, String), Account>>,
}

/// Is this a username TLS accepts? Letters, digits, `_`, `-`, `@` and `.`, 1 to 32 bytes.
///
/// GAP: the TLS rule is not published; this is the IM UserID rule plus the e-mail characters that
/// string accounts allowed.
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_USERNAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'@' | b'.'))
}

/// Is this a password TLS accepts? Printable ASCII, 1 to 64 bytes (GAP, see [`MAX_PASSWORD_LEN`]).
pub fn valid_password(password: &str) -> bool {
    !password.is_empty()
        && password.len() <= MAX_PASSWORD_LEN
        && password.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn digest(sdkappid: u64, username: &str, password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(format!("{sdkappid}\n{username}\n").as_bytes());
    hasher.update(password.as_bytes());
    let out = hasher.finalize();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&out);
    bytes
}

impl Accounts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every registered account (`/_tcharness/reset`).
    pub fn clear(&self) {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Creates the account; the caller has already validated the inputs and the anti-abuse limit.
    pub fn register(
        &self,
        sdkappid: u64,
        username: &str,
        password: &str,
        _from: IpAddr,
    ) -> Result<(), AccountError> {
        let mut accounts = self.lock();
        let key = (sdkappid, username.to_string());
        if accounts.contains_key(&key) {
            return Err(AccountError::AlreadyRegistered);
        }
        accounts.insert(
            key,
            Account {
                password_digest: digest(sdkappid, username, password),
            },
        );
        Ok(())
    }

    pub fn exists(&self, sdkappid: u64, username: &str) -> bool {
        self.lock().contains_key(&(sdkappid, username.to_string()))
    }

    /// Checks a password login.
    pub fn check_password(
        &self,
        sdkappid: u64,
        username: &str,
        password: &str,
    ) -> Result<(), AccountError> {
        let accounts = self.lock();
        let account = accounts
            .get(&(sdkappid, username.to_string()))
            .ok_or(AccountError::NoSuchAccount)?;
        if account.password_digest == digest(sdkappid, username, password) {
            Ok(())
        } else {
            Err(AccountError::WrongPassword)
        }
    }

    /// How many hosted accounts exist in all apps.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, String), Account>> {
        // Each operation is one map call, so a poisoned lock cannot hold a half-made change.
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_registration_of_a_name_is_refused_and_passwords_are_checked() {
        let accounts = Accounts::new();
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert_eq!(accounts.register(1, "anchor01", "pw12345678", ip), Ok(()));
        assert_eq!(
            accounts.register(1, "anchor01", "other", ip),
            Err(AccountError::AlreadyRegistered)
        );
        // Another app has its own namespace.
        assert_eq!(accounts.register(2, "anchor01", "x", ip), Ok(()));
        assert_eq!(accounts.check_password(1, "anchor01", "pw12345678"), Ok(()));
        assert_eq!(
            accounts.check_password(1, "anchor01", "x"),
            Err(AccountError::WrongPassword)
        );
        assert_eq!(
            accounts.check_password(1, "nobody", "x"),
            Err(AccountError::NoSuchAccount)
        );
    }

    #[test]
    fn usernames_follow_the_identifier_rules() {
        assert!(valid_username("anchor_01-x"));
        assert!(!valid_username(""));
        assert!(!valid_username("has space"));
        assert!(!valid_username(&"a".repeat(33)));
        assert!(valid_password("pass word!"));
        assert!(!valid_password("tab\there"));
    }
}
