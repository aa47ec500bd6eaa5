//! Text decoding of files as customers send them: UTF-8 (with or without BOM), UTF-16 (BOM, or the unmarked
//! little-endian that Windows editors and `adb logcat > file` in PowerShell produce), or GBK from Chinese
//! Windows machines.

/// Which encoding [`decode`] recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Gbk,
}

/// Decodes `bytes` to text, guessing the encoding; never fails (undecodable bytes become U+FFFD).
pub fn decode(bytes: &[u8]) -> (String, Encoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (String::from_utf8_lossy(rest).into_owned(), Encoding::Utf8);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return (utf16(rest, false), Encoding::Utf16Le);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return (utf16(rest, true), Encoding::Utf16Be);
    }
    if let Some(big_endian) = unmarked_utf16(bytes) {
        let enc = if big_endian {
            Encoding::Utf16Be
        } else {
            Encoding::Utf16Le
        };
        return (utf16(bytes, big_endian), enc);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_string(), Encoding::Utf8);
    }
    let (text, _, had_errors) = encoding_rs::GBK.decode(bytes);
    if had_errors {
        // Neither valid UTF-8 nor GBK: keep what UTF-8 can make of it, which loses the least ASCII.
        return (String::from_utf8_lossy(bytes).into_owned(), Encoding::Utf8);
    }
    (text.into_owned(), Encoding::Gbk)
}

/// Reads a file and decodes it with [`decode`].
pub fn read(path: &std::path::Path) -> std::io::Result<String> {
    Ok(decode(&std::fs::read(path)?).0)
}

/// Unmarked UTF-16: text files never hold NUL bytes, while UTF-16 puts one beside every ASCII character, always on
/// the same side. Returns whether it is big-endian.
fn unmarked_utf16(bytes: &[u8]) -> Option<bool> {
    if bytes.len() < 2 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let even = bytes.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = bytes.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if odd > 0 && odd > even * 2 {
        Some(false)
    } else if even > 0 && even > odd * 2 {
        Some(true)
    } else {
        None
    }
}

fn utf16(bytes: &[u8], big_endian: bool) -> String {
    let units = bytes.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CN: &str = "RTMP服务器主动断开，请检查推流地址";

    #[test]
    fn every_encoding_a_customer_sends_decodes_to_the_same_text() {
        let mut le: Vec<u8> = vec![0xFF, 0xFE];
        le.extend(CN.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let mut be: Vec<u8> = vec![0xFE, 0xFF];
        be.extend(CN.encode_utf16().flat_map(|u| u.to_be_bytes()));
        let bare: Vec<u8> = CN.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let (gbk, _, _) = encoding_rs::GBK.encode(CN);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(CN.as_bytes());
        assert_eq!(decode(&le), (CN.to_string(), Encoding::Utf16Le));
        assert_eq!(decode(&be), (CN.to_string(), Encoding::Utf16Be));
        assert_eq!(decode(&bare), (CN.to_string(), Encoding::Utf16Le));
        assert_eq!(decode(&gbk), (CN.to_string(), Encoding::Gbk));
        assert_eq!(decode(&bom), (CN.to_string(), Encoding::Utf8));
        assert_eq!(decode(CN.as_bytes()), (CN.to_string(), Encoding::Utf8));
    }

    #[test]
    fn odd_bytes_do_not_panic() {
        for input in [
            &b""[..],
            b"\xFF",
            b"\xFF\xFE\x00",
            b"\xFE\xFF\xD8\x00",
            b"\x00\x00\x00\x00\x00",
            b"\x81\x30\xFF\xFF\x80",
        ] {
            let _ = decode(input);
        }
    }
}
