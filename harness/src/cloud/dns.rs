//! A small authoritative DNS responder over UDP (`serve --dns`): a phone or container pointed at it
//! resolves every Tencent name to the emulator (push names to the RTMP listener, the rest to HTTP)
//! without a hosts file, which cannot hold wildcards such as `*.file.myqcloud.com`.
//!
//! Only what that needs (RFC 1035): one question per query, class IN, `A` and `AAAA` answered, any
//! other type answered with no records; names outside Tencent's zones are `REFUSED` (it is not a
//! recursive resolver). Parsing is bounded: at most [`MAX_PACKET`] bytes read, labels of at most 63
//! bytes, names of at most 255, no compression pointers in the question; a malformed query gets
//! `FORMERR` when its header is readable and nothing otherwise.

use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;

/// Largest query read (classic DNS over UDP; EDNS queries from stub resolvers are far smaller).
pub const MAX_PACKET: usize = 1232;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
const RCODE_FORMERR: u8 = 1;
const RCODE_NOTIMP: u8 = 4;
const RCODE_REFUSED: u8 = 5;
/// Seconds a client may cache an answer: short, as the emulator's address may change between runs.
const TTL: u32 = 30;

/// Where the names point.
#[derive(Clone, Copy, Debug)]
pub struct Targets {
    pub http: IpAddr,
    pub rtmp: IpAddr,
}

/// Whether `name` (lower case, no trailing dot) is in a zone the emulator serves.
fn is_tencent(name: &str) -> bool {
    ["myqcloud.com", "qcloud.com", "tim.qq.com"]
        .iter()
        .any(|z| name == *z || name.strip_suffix(z).is_some_and(|p| p.ends_with('.')))
}

fn is_push(name: &str) -> bool {
    name.split('.')
        .nth(1)
        .is_some_and(|l| l.starts_with("livepush"))
        && name.ends_with(".myqcloud.com")
}

/// The question: the name (lower case), its type and class, and where the question section ends.
fn question(q: &[u8]) -> Option<(String, u16, u16, usize)> {
    let mut pos = 12;
    let mut name = String::new();
    loop {
        let len = usize::from(*q.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        // Compression pointers (and the reserved 0x40/0x80 label types) have no place in a question.
        if len > 63 {
            return None;
        }
        let label = q.get(pos..pos + len)?;
        pos += len;
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            name.push(char::from(b.to_ascii_lowercase()));
        }
        if name.len() > 253 {
            return None;
        }
    }
    let field =
        |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*q.get(at)?, *q.get(at + 1)?])) };
    Some((name, field(pos)?, field(pos + 2)?, pos + 4))
}

/// The reply to one query packet, or `None` when it is not worth one (no header, or a response).
pub fn answer(q: &[u8], to: Targets) -> Option<Vec<u8>> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    let opcode = (q[2] >> 3) & 0x0f;
    let qdcount = u16::from_be_bytes([q[4], q[5]]);
    let header = |rcode: u8, qd: u16, an: u16| {
        let mut r = Vec::with_capacity(64);
        r.extend_from_slice(&q[0..2]);
        // QR=1, opcode echoed, AA=1, RD echoed; RA=0 (no recursion offered).
        r.push(0x80 | (q[2] & 0x78) | 0x04 | (q[2] & 0x01));
        r.push(rcode & 0x0f);
        r.extend_from_slice(&qd.to_be_bytes());
        r.extend_from_slice(&an.to_be_bytes());
        r.extend_from_slice(&[0, 0, 0, 0]);
        r
    };
    if opcode != 0 {
        return Some(header(RCODE_NOTIMP, 0, 0));
    }
    if qdcount != 1 {
        return Some(header(RCODE_FORMERR, 0, 0));
    }
    let Some((name, qtype, qclass, end)) = question(q) else {
        return Some(header(RCODE_FORMERR, 0, 0));
    };
    let echo = &q[12..end];
    if qclass != CLASS_IN || !is_tencent(&name) {
        let mut r = header(RCODE_REFUSED, 1, 0);
        r.extend_from_slice(echo);
        return Some(r);
    }
    let ip = if is_push(&name) { to.rtmp } else { to.http };
    let rdata: Option<Vec<u8>> = match (qtype, ip) {
        (TYPE_A, IpAddr::V4(v4)) => Some(v4.octets().to_vec()),
        (TYPE_AAAA, IpAddr::V6(v6)) => Some(v6.octets().to_vec()),
        // The name exists but has no record of this type: NOERROR with no answer ("NODATA").
        _ => None,
    };
    let mut r = header(0, 1, u16::from(rdata.is_some()));
    r.extend_from_slice(echo);
    if let Some(rdata) = rdata {
        // The name as a pointer to the question (offset 12).
        r.extend_from_slice(&[0xc0, 0x0c]);
        r.extend_from_slice(&qtype.to_be_bytes());
        r.extend_from_slice(&CLASS_IN.to_be_bytes());
        r.extend_from_slice(&TTL.to_be_bytes());
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(&rdata);
    }
    Some(r)
}

/// Answers queries on `socket` until `shutdown` fires.
pub async fn serve(socket: UdpSocket, to: Targets, shutdown: super::Shutdown) {
    let mut buf = vec![0u8; MAX_PACKET];
    let work = async {
        loop {
            let (n, peer): (usize, SocketAddr) = match socket.recv_from(&mut buf).await {
                Ok(r) => r,
                // A refused ICMP from an earlier reply's peer and the like: concerns that peer only.
                Err(_) => continue,
            };
            if let Some(reply) = answer(&buf[..n], to) {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    };
    super::until_shutdown(shutdown, work).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    fn targets() -> Targets {
        Targets {
            http: "10.1.2.3".parse().unwrap(),
            rtmp: "10.9.9.9".parse().unwrap(),
        }
    }

    #[test]
    fn tencent_names_get_the_listener_address() {
        let r = answer(&query("sh.FILE.myqcloud.com", TYPE_A), targets()).unwrap();
        assert_eq!(&r[0..2], &[0x12, 0x34]);
        assert_eq!(r[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 1, "one answer");
        assert_eq!(&r[r.len() - 4..], &[10, 1, 2, 3]);
        let push = answer(&query("8888.livepush2.myqcloud.com", TYPE_A), targets()).unwrap();
        assert_eq!(&push[push.len() - 4..], &[10, 9, 9, 9]);
        let im = answer(&query("openim.tim.qq.com", TYPE_A), targets()).unwrap();
        assert_eq!(&im[im.len() - 4..], &[10, 1, 2, 3]);
        let aaaa = answer(&query("tls.qcloud.com", TYPE_AAAA), targets()).unwrap();
        assert_eq!(
            (aaaa[3] & 0x0f, aaaa[7]),
            (0, 0),
            "NODATA for AAAA on a v4 listener"
        );
    }

    #[test]
    fn other_names_are_refused_and_malformed_queries_get_formerr_or_nothing() {
        for name in ["example.com", "notmyqcloud.com", "qq.com"] {
            let r = answer(&query(name, TYPE_A), targets()).unwrap();
            assert_eq!(r[3] & 0x0f, RCODE_REFUSED, "{name}");
        }
        assert!(answer(&[0u8; 5], targets()).is_none());
        let mut response = query("tls.qcloud.com", TYPE_A);
        response[2] |= 0x80;
        assert!(
            answer(&response, targets()).is_none(),
            "responses are not answered"
        );
        let mut pointer = query("tls.qcloud.com", TYPE_A);
        pointer[12] = 0xc0;
        assert_eq!(
            answer(&pointer, targets()).unwrap()[3] & 0x0f,
            RCODE_FORMERR
        );
        let mut truncated = query("tls.qcloud.com", TYPE_A);
        truncated.truncate(20);
        assert_eq!(
            answer(&truncated, targets()).unwrap()[3] & 0x0f,
            RCODE_FORMERR
        );
        let long = vec!["a".repeat(63); 5].join(".");
        assert_eq!(
            answer(&query(&long, TYPE_A), targets()).unwrap()[3] & 0x0f,
            RCODE_FORMERR
        );
        // Arbitrary bytes never panic.
        let mut seed = 7u64;
        for len in 0..600 {
            let bytes: Vec<u8> = (0..len % 80)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 56) as u8
                })
                .collect();
            let _ = answer(&bytes, targets());
        }
    }

    #[tokio::test]
    async fn answers_over_a_real_udp_socket() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let (trigger, shutdown) = super::super::Shutdown::new();
        tokio::spawn(serve(server, targets(), shutdown));
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(&[1, 2, 3], addr).await.unwrap();
        client
            .send_to(
                &query("minilvb-1252000001.cossh.myqcloud.com", TYPE_A),
                addr,
            )
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let (n, _) = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.recv_from(&mut buf),
        )
        .await
        .expect("an answer after a junk packet")
        .unwrap();
        assert_eq!(&buf[n - 4..n], &[10, 1, 2, 3]);
        trigger.trigger();
    }
}
