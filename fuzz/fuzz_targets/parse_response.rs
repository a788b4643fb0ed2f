//! Feeds arbitrary bytes to the SOAP and POX response parsers: each must return an answer or a
//! typed error, never panic, for any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = autodiscover::soap::parse_response(body);
    let _ = autodiscover::pox::parse_response(body);
});
