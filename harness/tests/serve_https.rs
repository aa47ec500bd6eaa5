//! `serve --https`: a client that trusts only the printed CA reaches the services over TLS under the
//! Tencent names, and a client that does not trust it is refused.
#![cfg(feature = "https")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::{self, pki_types};

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(roots: rustls::RootCertStore) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn a_client_trusting_the_printed_ca_reaches_every_tencent_name_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    let mut child = Serve(
        Command::new(env!("CARGO_BIN_EXE_tcharness"))
            .args(["serve", "--https", ":0", "--https-ca"])
            .arg(&ca_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let banner: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(banner["https_ca_pem"], ca_path.display().to_string());
    let addr: std::net::SocketAddr = banner["https"].as_str().unwrap().parse().unwrap();
    let pem = std::fs::read(&ca_path).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    use pki_types::pem::PemObject;
    for cert in pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let trusting = client(roots);
    for name in [
        "sh.file.myqcloud.com",
        "minilvb-1252000001.file.myqcloud.com",
        "minilvb-1252000001.cossh.myqcloud.com",
        "tls.qcloud.com",
        "openim.tim.qq.com",
        "8888.liveplay.myqcloud.com",
    ] {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let server_name = pki_types::ServerName::try_from(name.to_string()).unwrap();
        let mut tls = trusting
            .connect(server_name, tcp)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        tls.write_all(
            format!("GET /_tcharness/health HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer}");
        assert!(answer.contains(r#""status":"ok""#));
    }
    // Without the CA the certificate is not trusted.
    let stranger = client(rustls::RootCertStore::empty());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = pki_types::ServerName::try_from("sh.file.myqcloud.com").unwrap();
    assert!(stranger.connect(name, tcp).await.is_err());
    // A client that never finishes a handshake does not stop the next one (plain bytes, then quiet).
    let mut junk = tokio::net::TcpStream::connect(addr).await.unwrap();
    junk.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = pki_types::ServerName::try_from("tls.qcloud.com").unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    assert!(client(roots).connect(name, tcp).await.is_ok());
}

#[test]
fn a_client_that_never_finishes_the_handshake_is_closed_at_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Serve(
        Command::new(env!("CARGO_BIN_EXE_tcharness"))
            .args([
                "serve",
                "--https",
                ":0",
                "--http-header-timeout",
                "0.8",
                "--https-ca",
            ])
            .arg(dir.path().join("ca.pem"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let banner: serde_json::Value = serde_json::from_str(&line).unwrap();
    let addr: std::net::SocketAddr = banner["https"].as_str().unwrap().parse().unwrap();
    let started = std::time::Instant::now();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    // A ClientHello that never completes: a record header announcing more than is sent.
    std::io::Write::write_all(&mut s, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 64];
    loop {
        match std::io::Read::read(&mut s, &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not closed: {e}"),
        }
    }
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(700) && took < std::time::Duration::from_secs(5),
        "{took:?}"
    );
}
