//! COS v4 result codes and messages, in Tencent's words.
//!
//! Numbers and messages come from the v4 error table where it is known. The reference has no number for
//! some messages the FAQ quotes; those are chosen here once, and marked GAP. They stay stable because
//! transcripts and snapshots print them.

use axum::http::StatusCode;

/// One COS v4 outcome: `{"code": code, "message": message}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CosCode {
    pub code: i64,
    pub message: &'static str,
}

impl CosCode {
    const fn new(code: i64, message: &'static str) -> Self {
        Self { code, message }
    }

    /// The HTTP status of the reply. Errors answer 400 with the JSON body: the image service behind the
    /// same proxy did so for -97, and SDKs read the JSON body whatever the status (reference §4.3).
    pub fn status(&self) -> StatusCode {
        if self.code == 0 {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// The journal's outcome text, e.g. `-133 ERROR_CMD_BUCKET_NOTEXIST`.
    pub fn outcome(&self) -> String {
        format!("{} {}", self.code, self.message)
    }
}

pub const SUCCESS: CosCode = CosCode::new(0, "SUCCESS");
/// §8.4: an APPID the service has not configured.
pub const ERROR_PROXY_AUTH_APPID: CosCode = CosCode::new(-62, "ERROR_PROXY_AUTH_APPID");
/// §8.4: the same file uploaded again (Tencent's own sync tool treats it as success).
pub const ERROR_SAME_FILE_UPLOAD: CosCode = CosCode::new(-4018, "ERROR_SAME_FILE_UPLOAD");
pub const ERROR_PROXY_AUTH_EXPIRED: CosCode = CosCode::new(-96, "ERROR_PROXY_AUTH_EXPIRED");
pub const ERROR_PROXY_AUTH_FAILED: CosCode = CosCode::new(-97, "ERROR_PROXY_AUTH_FAILED");
pub const ERROR_CMD_BUCKET_NOTEXIST: CosCode = CosCode::new(-133, "ERROR_CMD_BUCKET_NOTEXIST");
pub const ERROR_CMD_COS_MAX_NUM: CosCode = CosCode::new(-165, "ERROR_CMD_COS_MAX_NUM");
pub const ERROR_CMD_COS_INDEX_ERROR: CosCode = CosCode::new(-166, "ERROR_CMD_COS_INDEX_ERROR");
pub const ERROR_CMD_COS_INVALID_SHA: CosCode = CosCode::new(-168, "ERROR_CMD_COS_INVALID_SHA");
pub const ERROR_CMD_COS_INVALID_LIST_NUM: CosCode =
    CosCode::new(-170, "ERROR_CMD_COS_INVALID_LIST_NUM");
pub const ERROR_CMD_COS_DIR_NOT_EMPTY: CosCode = CosCode::new(-173, "ERROR_CMD_COS_DIR_NOT_EMPTY");
pub const ERROR_CMD_COS_SHA_NOT_EQU: CosCode = CosCode::new(-174, "ERROR_CMD_COS_SHA_NOT_EQU");
pub const ERROR_CMD_COS_FILE_SIZE_NOT_EQU: CosCode =
    CosCode::new(-175, "ERROR_CMD_COS_FILE_SIZE_NOT_EQU");
pub const ERROR_CMD_COS_FILE_EXIST: CosCode = CosCode::new(-177, "ERROR_CMD_COS_FILE_EXIST");
pub const ERROR_CMD_COS_PATH_CONFLICT: CosCode = CosCode::new(-178, "ERROR_CMD_COS_PATH_CONFLICT");
pub const ERROR_CMD_COS_INVALID_PATH: CosCode = CosCode::new(-180, "ERROR_CMD_COS_INVALID_PATH");
/// "storage back-end error": also what a signed body gets when the upload buffers stay full (GAP: the
/// reference has no code for a busy server).
pub const ERROR_CMD_COS_ERROR: CosCode = CosCode::new(-181, "ERROR_CMD_COS_ERROR");

// GAP: the reference names these messages but not their numbers. Chosen once, never renumber:
// the proxy's signature checks sit beside -96/-97, the command layer's "file does not exist" after -181,
// and the CGI layer's parameter errors in a small positive-free range of their own.

/// GAP: number chosen. No `Authorization` header and no `sign` query parameter (or an empty one).
pub const ERROR_PROXY_AUTH_SIGN_EMPTY: CosCode = CosCode::new(-95, "ERROR_PROXY_AUTH_SIGN_EMPTY");
/// GAP: number chosen. The SecretId exists but belongs to another APPID than the URL's or the `a=` field.
pub const ERROR_PROXY_APPID_USERID_NOTMATCH: CosCode =
    CosCode::new(-98, "ERROR_PROXY_APPID_USERID_NOTMATCH");
/// GAP: number chosen. The signature's `b=` is not the bucket of the URL.
pub const ERROR_PROXY_SIGN_BUCKET_NOTMATCH: CosCode =
    CosCode::new(-99, "ERROR_PROXY_SIGN_BUCKET_NOTMATCH");
/// GAP: number chosen. Spelled without `ERROR_`, as the FAQ quotes it.
pub const PROXY_AUTH_SECRETID_NOEXIST: CosCode = CosCode::new(-100, "PROXY_AUTH_SECRETID_NOEXIST");
/// GAP: number chosen. Delete, update, move or copy of a path that does not exist.
pub const ERROR_CMD_FILE_NOTEXIST: CosCode = CosCode::new(-197, "ERROR_CMD_FILE_NOTEXIST");
/// GAP: number chosen. No `op`, or an `op` the API does not have (the detail says which).
pub const ERROR_CGI_PARAM_MISSING_OP: CosCode = CosCode::new(-20, "ERROR_CGI_PARAM_MISSING_OP");
/// GAP: name and number chosen. A required parameter is missing or malformed (bad multipart, no
/// `filecontent`, `offset` not a number, unknown slice session).
pub const ERROR_CGI_PARAM_INVALID: CosCode = CosCode::new(-21, "ERROR_CGI_PARAM_INVALID");
/// GAP: name and number chosen. The body is larger than the configured limit.
pub const ERROR_CGI_REQUEST_TOO_LARGE: CosCode = CosCode::new(-22, "ERROR_CGI_REQUEST_TOO_LARGE");
