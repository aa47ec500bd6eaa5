//! The three kinds of COS v4 host names and the regions that exist.
//!
//! - API: `{region}.file.myqcloud.com` (path `/files/v2/{appid}/{bucket}{path}`)
//! - source domain: `{bucket}-{appid}.cos{region}.myqcloud.com`
//! - CDN acceleration domain: `{bucket}-{appid}.file.myqcloud.com`

/// v4 region short names. Client-side aliases (`shanghai`, `guangzhou`, ...) never reach the wire as hosts,
/// so a host built from one is an unknown region, like any typo.
pub const REGIONS: [&str; 9] = ["gz", "sh", "tj", "sgp", "bj", "cd", "hk", "ca", "ger"];

pub fn is_region(region: &str) -> bool {
    REGIONS.contains(&region)
}

/// What a `*.myqcloud.com` host name addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CosHost {
    /// The JSON API of one region (the region may not exist: the gateway then answers 403).
    Api { region: String },
    /// A bucket's source ("default") download domain in one region.
    Source {
        bucket: String,
        appid: u64,
        region: String,
    },
    /// A bucket's CDN acceleration domain (no region in the name).
    Cdn { bucket: String, appid: u64 },
    /// Any other name under `myqcloud.com`.
    Unknown,
}

/// Classifies a host (port allowed, case-insensitive).
pub fn classify(host: &str) -> CosHost {
    let host = crate::cloud::host_without_port(host).to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    let Some(first) = host.strip_suffix(".myqcloud.com") else {
        return CosHost::Unknown;
    };
    let Some((label, rest)) = first.split_once('.') else {
        return CosHost::Unknown;
    };
    if rest == "file" {
        if let Some((bucket, appid)) = bucket_and_appid(label) {
            return CosHost::Cdn { bucket, appid };
        }
        return CosHost::Api {
            region: label.to_string(),
        };
    }
    if let Some(region) = rest.strip_prefix("cos")
        && !region.is_empty()
        && !region.contains('.')
        && let Some((bucket, appid)) = bucket_and_appid(label)
    {
        return CosHost::Source {
            bucket,
            appid,
            region: region.to_string(),
        };
    }
    CosHost::Unknown
}

/// `minilvb-1252000001` → (`minilvb`, 1252000001). Bucket names may hold `-`, the APPID is the last part.
fn bucket_and_appid(label: &str) -> Option<(String, u64)> {
    let (bucket, appid) = label.rsplit_once('-')?;
    if bucket.is_empty() || appid.is_empty() || !appid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((bucket.to_string(), appid.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_domains_are_told_apart() {
        assert_eq!(
            classify("sh.file.myqcloud.com:8080"),
            CosHost::Api {
                region: "sh".into()
            }
        );
        assert_eq!(
            classify("minilvb-1252000001.file.myqcloud.com"),
            CosHost::Cdn {
                bucket: "minilvb".into(),
                appid: 1252000001
            }
        );
        assert_eq!(
            classify("my-pics-1252000001.cossh.myqcloud.com"),
            CosHost::Source {
                bucket: "my-pics".into(),
                appid: 1252000001,
                region: "sh".into()
            }
        );
        assert_eq!(classify("example.com"), CosHost::Unknown);
        assert_eq!(classify("a.b.c.myqcloud.com"), CosHost::Unknown);
        assert!(!is_region("shanghai"));
    }
}
