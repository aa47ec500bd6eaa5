//! How a real device or backend reaches the emulator: the Tencent host names the apps and the backend
//! use, a hosts-file snippet for them (a hosts file has no wildcards and no ports), and listen
//! addresses given as `:PORT`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::Tenant;

/// Every Tencent name the apps and backends of this tenant connect to: `(http, rtmp)`. Both
/// push zones are listed: the backend hands out `livepush2` URLs, older clients use `livepush`.
pub fn tencent_names(t: &Tenant) -> (Vec<String>, Vec<String>) {
    let mut http = vec![
        "fcgi.video.qcloud.com".to_string(),
        "statcgi.video.qcloud.com".to_string(),
        "tls.qcloud.com".to_string(),
        "openim.tim.qq.com".to_string(),
        format!("{}.liveplay.myqcloud.com", t.lvb.bizid),
        format!("{}.vod2.myqcloud.com", t.lvb.vod_bizid),
        format!("{}.vod2.myqcloud.com", t.lvb.appid),
    ];
    for b in &t.cos.buckets {
        http.push(format!("{}.file.myqcloud.com", b.region));
        http.push(format!(
            "{}-{}.cos{}.myqcloud.com",
            b.name, b.appid, b.region
        ));
        http.push(format!("{}-{}.file.myqcloud.com", b.name, b.appid));
    }
    let mut seen = std::collections::HashSet::new();
    http.retain(|n| seen.insert(n.clone()));
    let rtmp = vec![
        format!("{}.livepush.myqcloud.com", t.lvb.bizid),
        format!("{}.livepush2.myqcloud.com", t.lvb.bizid),
    ];
    (http, rtmp)
}

/// Lines for `/etc/hosts`: the HTTP names at the HTTP listener's address, the push names at the RTMP
/// listener's. `ip_http`/`ip_rtmp` are what clients should connect to (not `0.0.0.0`).
pub fn hosts_lines(t: &Tenant, ip_http: IpAddr, ip_rtmp: IpAddr) -> Vec<String> {
    let (http, rtmp) = tencent_names(t);
    if ip_http == ip_rtmp {
        let mut all = http;
        all.extend(rtmp);
        vec![format!("{ip_http} {}", all.join(" "))]
    } else {
        vec![
            format!("{ip_http} {}", http.join(" ")),
            format!("{ip_rtmp} {}", rtmp.join(" ")),
        ]
    }
}

/// A listen address from the command line: `HOST:PORT`, or `:PORT` for 127.0.0.1 (never all
/// interfaces by accident: `0.0.0.0:PORT` must be written out).
pub fn listen_addr(s: &str) -> String {
    match s.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => s.to_string(),
    }
}

/// The address clients are told to use for a listener: `advertise` if given, the bound IP unless it
/// is unspecified (`0.0.0.0`, `::`), else 127.0.0.1.
pub fn client_ip(bound: SocketAddr, advertise: Option<IpAddr>) -> IpAddr {
    advertise.unwrap_or(if bound.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        bound.ip()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_both_push_zones_and_every_service() {
        let t = Tenant::healthy();
        let (http, rtmp) = tencent_names(&t);
        assert_eq!(
            rtmp,
            ["8888.livepush.myqcloud.com", "8888.livepush2.myqcloud.com"]
        );
        for name in [
            "fcgi.video.qcloud.com",
            "tls.qcloud.com",
            "openim.tim.qq.com",
            "8888.liveplay.myqcloud.com",
            "sh.file.myqcloud.com",
            "minilvb-1252000001.file.myqcloud.com",
            "minilvb-1252000001.cossh.myqcloud.com",
        ] {
            assert!(
                http.iter().any(|n| n == name),
                "{name} missing from {http:?}"
            );
        }
        // Every HTTP name is routed to a service by the listener, none falls through as unknown.
        for name in &http {
            let path = if name.starts_with("fcgi.") {
                "/common_access"
            } else {
                "/"
            };
            assert_ne!(
                super::super::route_host(name, path),
                super::super::Route::Unknown,
                "{name}"
            );
        }
    }

    #[test]
    fn hosts_lines_split_by_address_and_ports_default_to_loopback() {
        let t = Tenant::healthy();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let one = hosts_lines(&t, lo, lo);
        assert_eq!(one.len(), 1);
        assert!(
            one[0].starts_with("127.0.0.1 ") && one[0].contains(" 8888.livepush2.myqcloud.com")
        );
        let two = hosts_lines(&t, lo, other);
        assert!(two[1].starts_with("10.0.0.2 8888.livepush.myqcloud.com"));
        assert!(!two[0].contains("livepush"));
        assert_eq!(listen_addr(":80"), "127.0.0.1:80");
        assert_eq!(listen_addr("0.0.0.0:1935"), "0.0.0.0:1935");
        assert_eq!(client_ip("0.0.0.0:80".parse().unwrap(), None), lo);
        assert_eq!(client_ip("0.0.0.0:80".parse().unwrap(), Some(other)), other);
    }
}
