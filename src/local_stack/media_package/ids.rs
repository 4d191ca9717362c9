//! The names MediaPackage VOD hands out, made without I/O: the packaging configurations' ids and
//! kinds, the random hex ids of assets and egress paths, the group's bucket name, and the egress
//! URLs turned into CloudFront URLs keyed as the solution's `convertEndpoints` keys them
//! (`source/media-package-assets/index.js`).

use std::collections::BTreeMap;

/// The four packaging configurations the solution creates (`PackagingConfigurations:
/// 'HLS,DASH,MSS,CMAF'` in `source/cdk/lib/vod-stack.ts`), in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackagingKind {
    Hls,
    Dash,
    Mss,
    Cmaf,
}

impl PackagingKind {
    pub const ALL: [PackagingKind; 4] = [Self::Hls, Self::Dash, Self::Mss, Self::Cmaf];

    /// The last part of the configuration id (`packaging-config-<16hex>-<suffix>`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Hls => "hls",
            Self::Dash => "dash",
            Self::Mss => "mss",
            Self::Cmaf => "cmaf",
        }
    }

    /// The manifest behind an egress URL: the configurations' `ManifestName` is `index`.
    pub fn manifest(self) -> &'static str {
        match self {
            Self::Hls | Self::Cmaf => "index.m3u8",
            Self::Dash => "index.mpd",
            Self::Mss => "index.ism/Manifest",
        }
    }
}

/// `packaging-config-<part>-<suffix>`, as the custom resource names each configuration (`part` is one
/// random 16-hex string shared by the group's configurations).
pub(super) fn configuration_id(part: &str, kind: PackagingKind) -> String {
    format!("packaging-config-{part}-{}", kind.suffix())
}

/// The key of an egress endpoint: the configuration id's last `-` part, upper-cased
/// (`parts.pop().toUpperCase()`), so `packaging-config-…-hls` is `HLS`.
pub fn endpoint_key(configuration_id: &str) -> String {
    configuration_id
        .rsplit('-')
        .next()
        .unwrap_or(configuration_id)
        .to_uppercase()
}

/// `N` random bytes as `2N` lower-case hex digits (`crypto.randomBytes(N).toString('hex')`).
pub(super) fn random_hex<const N: usize>() -> String {
    let bytes: [u8; N] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` random lower-case letters and digits, like CloudFormation's physical-name suffixes.
fn random_alphanumerics(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The bucket that holds what the group serves: `<stack lower-case>-mediapackage-<12 random>`, the
/// stack part shortened (and cut to S3's characters) so the name fits S3's 63.
pub(super) fn bucket_name(stack: &str) -> String {
    let tail = format!("-mediapackage-{}", random_alphanumerics(12));
    let room = 63usize.saturating_sub(tail.len());
    let head: String = stack
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .take(room)
        .collect();
    let head = head.trim_matches('-');
    let head = if head.is_empty() { "vod" } else { head };
    format!("{head}{tail}")
}

/// Whether `s` is 32 lower-case hex digits, the shape of asset ids and egress path parts.
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One egress endpoint as MediaPackage's `CreateAsset` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EgressEndpoint {
    pub packaging_configuration_id: String,
    pub url: String,
}

/// The S3 key prefix (and URL path, without the leading `/`) of one endpoint:
/// `out/v1/<asset part>/<configuration part>/<endpoint part>`.
pub(super) fn endpoint_prefix(
    asset_part: &str,
    configuration_part: &str,
    endpoint_part: &str,
) -> String {
    format!("out/v1/{asset_part}/{configuration_part}/{endpoint_part}")
}

/// The endpoints behind CloudFront, as `convertEndpoints` makes them: keyed by [`endpoint_key`], the
/// group's host replaced (first occurrence, as `String.replace`) by the CloudFront domain. The
/// solution keeps `https`; the local CloudFront is plain HTTP, so the scheme is replaced too.
pub(super) fn convert_endpoints(
    endpoints: &[EgressEndpoint],
    group_host: &str,
    cloudfront: &str,
    scheme: &str,
) -> BTreeMap<String, String> {
    endpoints
        .iter()
        .map(|endpoint| {
            let url = endpoint.url.replacen(group_host, cloudfront, 1);
            let url = match url.split_once("://") {
                Some((_, rest)) => format!("{scheme}://{rest}"),
                None => url,
            };
            (endpoint_key(&endpoint.packaging_configuration_id), url)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_ids_end_in_their_kind_and_key_as_convert_endpoints_does() {
        let part = random_hex::<8>();
        assert_eq!(part.len(), 16);
        assert!(
            part.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let keys: Vec<String> = PackagingKind::ALL
            .iter()
            .map(|kind| endpoint_key(&configuration_id(&part, *kind)))
            .collect();
        assert_eq!(keys, ["HLS", "DASH", "MSS", "CMAF"]);
        assert_eq!(
            configuration_id("0123456789abcdef", PackagingKind::Cmaf),
            "packaging-config-0123456789abcdef-cmaf"
        );
        // `split('-').pop()` of a name without a dash is the whole name.
        assert_eq!(endpoint_key("hls"), "HLS");
        assert_eq!(endpoint_key("my-config-Dash"), "DASH");
        assert_eq!(endpoint_key("trailing-"), "");
    }

    #[test]
    fn random_ids_are_32_hex_and_differ() {
        let (a, b) = (random_hex::<16>(), random_hex::<16>());
        assert!(is_hex32(&a) && is_hex32(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_hex32("3E9A41C07B5D2F86E4A1C9B07D3F5E28"));
        assert!(!is_hex32("3e9a41c07b5d2f86e4a1c9b07d3f5e2"));
        assert!(is_hex32("3e9a41c07b5d2f86e4a1c9b07d3f5e28"));
    }

    #[test]
    fn bucket_names_fit_s3() {
        let name = bucket_name("vod-mp");
        let (head, random) = name.rsplit_once('-').expect("a suffix");
        assert_eq!(head, "vod-mp-mediapackage");
        assert_eq!(random.len(), 12);
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        let long = bucket_name(&format!("My-Stack{}", "x".repeat(120)));
        assert_eq!(long.len(), 63);
        assert!(long.starts_with("my-stackxxx"));
        assert!(bucket_name("Stack_With.Odd").starts_with("stackwithodd-mediapackage-"));
        assert!(bucket_name("---").starts_with("vod-mediapackage-"));
        assert_ne!(bucket_name("a"), bucket_name("a"));
    }

    #[test]
    fn endpoints_are_converted_to_the_cloudfront_domain() {
        let host = "0123456789abcdef.egress.mediapackage-vod.us-east-1.amazonaws.com";
        let endpoints: Vec<EgressEndpoint> = PackagingKind::ALL
            .iter()
            .map(|kind| EgressEndpoint {
                packaging_configuration_id: configuration_id("0123456789abcdef", *kind),
                url: format!(
                    "https://{host}/{}/{}",
                    endpoint_prefix("a", "b", "c"),
                    kind.manifest()
                ),
            })
            .collect();
        let converted =
            convert_endpoints(&endpoints, host, "d2z4x6c8v0b2n4.cloudfront.net", "https");
        assert_eq!(
            converted["HLS"],
            "https://d2z4x6c8v0b2n4.cloudfront.net/out/v1/a/b/c/index.m3u8"
        );
        assert_eq!(
            converted["MSS"],
            "https://d2z4x6c8v0b2n4.cloudfront.net/out/v1/a/b/c/index.ism/Manifest"
        );
        let local = convert_endpoints(&endpoints, host, "127.0.0.1:8080", "http");
        assert_eq!(
            local.keys().map(String::as_str).collect::<Vec<_>>(),
            ["CMAF", "DASH", "HLS", "MSS"]
        );
        assert_eq!(
            local["DASH"],
            "http://127.0.0.1:8080/out/v1/a/b/c/index.mpd"
        );
        assert_eq!(
            local["CMAF"],
            "http://127.0.0.1:8080/out/v1/a/b/c/index.m3u8"
        );
    }
}
