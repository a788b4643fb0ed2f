//! Undoing `Content-Encoding: gzip` and `deflate`, with the decoded size bounded.

use std::io::Read;

use autodiscover::TransportError;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

/// The `Accept-Encoding` the driver sends: the codings [`decode_body`] undoes.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate";

/// Undoes the content codings listed in `content_encoding` (last applied first), stopping
/// after `limit` decoded bytes so that a small compressed body cannot expand without bound.
///
/// `deflate` is the zlib format (RFC 9110 section 8.4.1.2), but some servers send a raw
/// deflate stream under that name, so a body without a zlib header is read as raw deflate.
///
/// # Errors
/// `BodyTooLarge` past `limit`, `InvalidResponse` for an unknown coding or a corrupt stream.
pub(crate) fn decode_body(
    body: Vec<u8>,
    content_encoding: Option<&str>,
    limit: usize,
) -> Result<Vec<u8>, TransportError> {
    let Some(header) = content_encoding else {
        return Ok(body);
    };
    let codings: Vec<String> = header
        .split(',')
        .map(|coding| coding.trim().to_ascii_lowercase())
        .filter(|coding| !coding.is_empty())
        .collect();

    let mut body = body;
    for coding in codings.iter().rev() {
        body = match coding.as_str() {
            "identity" => body,
            "gzip" | "x-gzip" => read_bounded(MultiGzDecoder::new(&body[..]), coding, limit)?,
            "deflate" if has_zlib_header(&body) => {
                read_bounded(ZlibDecoder::new(&body[..]), coding, limit)?
            }
            "deflate" => read_bounded(DeflateDecoder::new(&body[..]), coding, limit)?,
            other => {
                return Err(TransportError::InvalidResponse(format!(
                    "unsupported Content-Encoding {other:?}; the request accepted only {ACCEPT_ENCODING}"
                )))
            }
        };
    }
    Ok(body)
}

/// Checks the two-byte zlib header of RFC 1950: method 8 (deflate) and a check value that
/// makes the pair a multiple of 31.
fn has_zlib_header(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn read_bounded(decoder: impl Read, coding: &str, limit: usize) -> Result<Vec<u8>, TransportError> {
    let mut decoded = Vec::new();
    // Reading one byte past the limit distinguishes a body of exactly `limit` bytes from a
    // larger one.
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(&mut decoded)
        .map_err(|error| {
            TransportError::InvalidResponse(format!(
                "the {coding} body could not be decoded: {error}"
            ))
        })?;
    if decoded.len() > limit {
        return Err(TransportError::BodyTooLarge { limit });
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_round_trip() {
        let body = decode_body(gzip(b"<Autodiscover/>"), Some("gzip"), 1024).unwrap();
        assert_eq!(body, b"<Autodiscover/>");
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(b"zlib body").unwrap();
        let zlib = zlib.finish().unwrap();
        assert_eq!(
            decode_body(zlib, Some("Deflate"), 1024).unwrap(),
            b"zlib body"
        );

        let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(b"raw body").unwrap();
        let raw = raw.finish().unwrap();
        assert_eq!(
            decode_body(raw, Some("deflate"), 1024).unwrap(),
            b"raw body"
        );
    }

    #[test]
    fn gzip_bomb_stops_at_limit() {
        let bomb = gzip(&vec![b' '; 10 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024, "compressed size {}", bomb.len());
        let error = decode_body(bomb, Some("gzip"), 1024 * 1024).unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 1024 * 1024 });
    }

    #[test]
    fn exact_limit_is_accepted() {
        let body = decode_body(gzip(&[b'x'; 100]), Some("gzip"), 100).unwrap();
        assert_eq!(body.len(), 100);
    }

    #[test]
    fn unknown_coding_is_invalid() {
        let error = decode_body(b"x".to_vec(), Some("br"), 100).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error}"
        );
    }

    #[test]
    fn corrupt_gzip_is_invalid() {
        let error = decode_body(b"\x1f\x8bnot gzip".to_vec(), Some("gzip"), 100).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error}"
        );
    }
}
