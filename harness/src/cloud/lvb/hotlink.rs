//! Push hotlink protection (防盗链): which push URLs the ingest accepts, and why it refuses the others.
//!
//! `txSecret = md5(push key + stream name + txTime)`, hashed over the txTime string exactly as the client
//! sent it (an upper- and a lower-case txTime give different secrets), and `txTime` is the hex expiry.

use md5::{Digest, Md5};

use super::console::LvbConsole;

/// Lower-case hex MD5 of the concatenated parts (the form of every Tencent signature in this era).
pub fn md5_hex(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The txSecret of a push URL.
pub fn tx_secret(push_key: &str, stream_name: &str, tx_time: &str) -> String {
    md5_hex(&[push_key, stream_name, tx_time])
}

/// A publish request as the ingest sees it: the tcUrl of `connect` and the name of `publish`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRequest {
    /// Push domain from tcUrl, lower case, port stripped (`8888.livepush.myqcloud.com`).
    pub domain: String,
    /// App path from tcUrl or `connect`'s `app` (`live`).
    pub app: String,
    /// Stream name without its query (`8888_anchor01`).
    pub stream_id: String,
    /// The query string as pushed (publish name query, else the tcUrl query): sent back as `stream_param`.
    pub stream_param: String,
}

impl PushRequest {
    /// Builds the request from `connect`'s tcUrl/app and `publish`'s name.
    pub fn parse(tc_url: &str, connect_app: &str, publish_name: &str) -> PushRequest {
        let rest = tc_url
            .strip_prefix("rtmp://")
            .or_else(|| tc_url.strip_prefix("RTMP://"))
            .unwrap_or(tc_url);
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let domain = crate::cloud::host_without_port(authority).to_ascii_lowercase();
        let (path, tc_query) = path.split_once('?').unwrap_or((path, ""));
        let app = if connect_app.is_empty() {
            path.trim_matches('/').to_string()
        } else {
            connect_app.split('?').next().unwrap_or("").to_string()
        };
        let (stream_id, name_query) = publish_name.split_once('?').unwrap_or((publish_name, ""));
        // The query belongs on the publish name (what ffmpeg and the Tencent SDK send); some clients put it
        // on tcUrl instead, which the ingest also accepts.
        let stream_param = if name_query.is_empty() {
            tc_query
        } else {
            name_query
        };
        PushRequest {
            domain,
            app,
            stream_id: stream_id.to_string(),
            stream_param: stream_param.to_string(),
        }
    }

    /// One query parameter, percent-decoded; the first occurrence wins.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.stream_param.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Recording formats asked for by `record=` (`flv|hls`), default `flv`, without duplicates.
    pub fn record_formats(&self) -> Vec<String> {
        let mut formats: Vec<String> = Vec::new();
        if let Some(record) = self.param("record") {
            for format in record.split(['|', ',']) {
                let format = format.trim().to_ascii_lowercase();
                if matches!(format.as_str(), "flv" | "hls" | "mp4") && !formats.contains(&format) {
                    formats.push(format);
                }
            }
        }
        if formats.is_empty() {
            formats.push("flv".to_string());
        }
        formats
    }

    /// The bizid named by the push domain (`{bizid}.livepush.myqcloud.com` or `livepush2`).
    pub fn domain_bizid(&self) -> Option<u64> {
        let (bizid, zone) = self.domain.split_once('.')?;
        if zone == "livepush.myqcloud.com" || zone == "livepush2.myqcloud.com" {
            bizid.parse().ok()
        } else {
            None
        }
    }
}

/// Why a push is refused; `reason()` is the journal's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    UnknownBizid,
    UnknownApp,
    BadSecret,
    Expired,
    Disabled,
    AlreadyPublishing,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::UnknownBizid => "refused: unknown bizid",
            // GAP: the docs only say a custom app name needs a ticket; a wrong app path is refused.
            Refusal::UnknownApp => "refused: unknown app",
            Refusal::BadSecret => "refused: bad txSecret",
            Refusal::Expired => "refused: txTime expired",
            Refusal::Disabled => "refused: stream disabled",
            Refusal::AlreadyPublishing => "refused: stream already publishing",
        }
    }

    /// Whether the account owning the stream hears of it (event 0, errcode 18). A push to another
    /// account's domain never reaches this tenant's callback; a duplicate publisher does not end the
    /// running push, so no stream-end event is sent for it either (GAP: undocumented; chosen so the
    /// backend does not mark a live stream as ended).
    pub fn notifies_owner(self) -> bool {
        matches!(
            self,
            Refusal::BadSecret | Refusal::Expired | Refusal::Disabled | Refusal::UnknownApp
        )
    }
}

/// Checks everything that depends on the URL alone (domain, app, prefix, secret, expiry), in the order
/// the platform would: who is this, is the secret right, is it still valid. Stream state (disabled,
/// already publishing) is checked by the caller.
pub fn check_url(console: &LvbConsole, req: &PushRequest, now: i64) -> Result<(), Refusal> {
    if req.domain_bizid() != Some(console.bizid) {
        return Err(Refusal::UnknownBizid);
    }
    if req.app != "live" {
        return Err(Refusal::UnknownApp);
    }
    // The stream id must carry this account's `{bizid}_` prefix (直播码 rule).
    if !req.stream_id.starts_with(&format!("{}_", console.bizid)) {
        return Err(Refusal::UnknownBizid);
    }
    let (Some(secret), Some(tx_time)) = (req.param("txSecret"), req.param("txTime")) else {
        return Err(Refusal::BadSecret);
    };
    let expected = tx_secret(&console.push_key, &req.stream_id, &tx_time);
    // GAP: the case of txSecret is undocumented; the digest is the same in either case, so both match.
    if !secret.eq_ignore_ascii_case(&expected) {
        return Err(Refusal::BadSecret);
    }
    match i64::from_str_radix(&tx_time, 16) {
        Ok(expiry) if expiry >= now => Ok(()),
        _ => Err(Refusal::Expired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_the_query_from_the_publish_name() {
        let req = PushRequest::parse(
            "rtmp://8888.livepush2.myqcloud.com:1935/live",
            "live",
            "8888_a?bizid=8888&record=flv|hls&txSecret=x&txTime=5867D600",
        );
        assert_eq!(req.domain, "8888.livepush2.myqcloud.com");
        assert_eq!(req.domain_bizid(), Some(8888));
        assert_eq!(req.stream_id, "8888_a");
        assert_eq!(req.param("txTime").as_deref(), Some("5867D600"));
        assert_eq!(req.record_formats(), vec!["flv", "hls"]);
    }

    #[test]
    fn parse_falls_back_to_the_tcurl_query() {
        let req = PushRequest::parse(
            "rtmp://8888.livepush.myqcloud.com/live?txSecret=s&txTime=1",
            "",
            "8888_a",
        );
        assert_eq!(req.app, "live");
        assert_eq!(req.param("txSecret").as_deref(), Some("s"));
        assert_eq!(req.record_formats(), vec!["flv"]);
    }
}
