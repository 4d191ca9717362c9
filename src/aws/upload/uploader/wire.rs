//! What travels with the bytes: CRC64NVME checksums (combined from the parts, as the headers carry
//! them), the original name as header-safe metadata, and the Content-Type for a key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::aws::upload::journal::PartRecord;

/// The full-object CRC64NVME from the parts' CRCs, in part order, without reading the file again.
pub(super) fn combine_crc64(parts: &[&PartRecord]) -> u64 {
    let mut iter = parts.iter();
    let Some(first) = iter.next() else {
        return crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, &[]);
    };
    iter.fold(first.crc64, |acc, part| {
        crc_fast::checksum_combine(
            crc_fast::CrcAlgorithm::Crc64Nvme,
            acc,
            part.crc64,
            part.size,
        )
    })
}

pub fn crc64_base64(crc: u64) -> String {
    BASE64.encode(crc.to_be_bytes())
}

pub(super) fn crc64_from_base64(text: &str) -> Option<u64> {
    let bytes = BASE64.decode(text).ok()?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// S3 metadata travels in HTTP headers: non-ASCII and control characters are percent-encoded (UTF-8).
pub fn metadata_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Content-Type for a key, from its extension (players and browsers use it when the URL is opened).
pub fn content_type(key: &str) -> &'static str {
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        "mpg" | "mpeg" => "video/mpeg",
        "m2ts" | "ts" | "mts" => "video/mp2t",
        "wmv" => "video/x-ms-wmv",
        "mxf" => "application/mxf",
        "m3u8" => "application/vnd.apple.mpegurl",
        "h264" => "video/h264",
        "avi" => "video/x-msvideo",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}
