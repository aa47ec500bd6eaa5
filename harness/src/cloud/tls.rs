//! `serve --https`: a certificate authority made at start (never reused, its key never written) and a
//! server certificate it signs for every Tencent name, for clients that use HTTPS (the iOS demo's COS
//! client does). A device trusts the printed CA PEM file once per run.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A CA and the acceptor presenting a certificate it signed.
pub struct Tls {
    /// The CA certificate, PEM, for clients to trust.
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

/// Names under which a certificate's wildcards cover every Tencent host the listener serves (a
/// wildcard matches one label only, so each zone is listed).
const WILDCARDS: [&str; 9] = [
    "*.myqcloud.com",
    "*.file.myqcloud.com",
    "*.liveplay.myqcloud.com",
    "*.vod.myqcloud.com",
    "*.vod2.myqcloud.com",
    "*.qcloud.com",
    "*.video.qcloud.com",
    "*.tim.qq.com",
    "localhost",
];

/// Makes the CA and a server certificate for the wildcards, `names` and `ips`.
pub fn make(names: &[String], ips: &[IpAddr]) -> Result<Tls, String> {
    let err = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tcharness emulator CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).map_err(err)?;

    let mut sans: Vec<String> = WILDCARDS.iter().map(|s| s.to_string()).collect();
    sans.extend(names.iter().cloned());
    sans.extend(ips.iter().map(IpAddr::to_string));
    sans.sort();
    sans.dedup();
    let leaf_key = KeyPair::generate().map_err(err)?;
    let mut leaf_params = CertificateParams::new(sans).map_err(err)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "tcharness emulator");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .map_err(err)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            pki_types::PrivateKeyDer::Pkcs8(pki_types::PrivatePkcs8KeyDer::from(
                leaf_key.serialize_der(),
            )),
        )
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem: ca.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
