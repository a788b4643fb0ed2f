//! Ordering SRV records for step 4, following RFC 2782.

use std::collections::BTreeSet;

use tracing::debug;

use crate::config::MAX_SRV_TARGETS;
use crate::event::SrvRecord;
use crate::request::check_domain;

/// Returns the hosts to try, in order: records with port 443 only, lowest priority value first,
/// and within one priority the weighted random order of RFC 2782 drawn from `seed`.
///
/// Targets lose one trailing dot; a target of `.` (no service), an invalid host name and a
/// repeated target are dropped, and at most [`MAX_SRV_TARGETS`] hosts are returned.
pub(crate) fn order_targets(records: &[SrvRecord], seed: u64) -> Vec<String> {
    let mut usable: Vec<(u16, u16, String)> = Vec::new();
    for record in records {
        let target = record.target.trim();
        let target = target
            .strip_suffix('.')
            .unwrap_or(target)
            .to_ascii_lowercase();
        if target.is_empty() {
            debug!(
                priority = record.priority,
                "SRV record with target '.' means no service"
            );
            continue;
        }
        if record.port != 443 {
            debug!(%target, port = record.port, "skipping SRV record whose port is not 443");
            continue;
        }
        if target.parse::<std::net::IpAddr>().is_ok() {
            debug!(%target, "skipping SRV record whose target is an IP address");
            continue;
        }
        if let Err(reason) = check_domain(&target) {
            debug!(%target, %reason, "skipping SRV record with an invalid target");
            continue;
        }
        usable.push((record.priority, record.weight, target));
    }
    usable.sort_by_key(|(priority, _, _)| *priority);

    let mut rng = SplitMix64(seed);
    let mut ordered: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut index = 0;
    while index < usable.len() && ordered.len() < MAX_SRV_TARGETS {
        let priority = usable[index].0;
        let mut group: Vec<(u16, String)> = Vec::new();
        while index < usable.len() && usable[index].0 == priority {
            group.push((usable[index].1, usable[index].2.clone()));
            index += 1;
        }

        // RFC 2782: zero-weight records first, then repeatedly pick by running weight sum.
        group.sort_by_key(|(weight, _)| *weight != 0);
        while !group.is_empty() && ordered.len() < MAX_SRV_TARGETS {
            let total: u64 = group.iter().map(|(weight, _)| u64::from(*weight)).sum();
            let pick = if total == 0 {
                0
            } else {
                let draw = rng.next() % (total + 1);
                let mut running = 0;
                group
                    .iter()
                    .position(|(weight, _)| {
                        running += u64::from(*weight);
                        running >= draw
                    })
                    .unwrap_or(0)
            };
            let (_, target) = group.swap_remove(pick);
            if seen.insert(target.clone()) {
                ordered.push(target);
            }
        }
    }
    ordered
}

/// A small deterministic generator (SplitMix64), enough for load spreading and reproducible
/// from the configured seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.to_owned(),
        }
    }

    #[test]
    fn lowest_priority_first_port_443_only() {
        let records = [
            record(20, 0, 443, "backup.example.com."),
            record(10, 50, 443, "ad1.example.com."),
            record(10, 0, 8443, "alt.example.com."),
            record(10, 50, 443, "ad2.example.com."),
            record(10, 10, 443, "ad3.example.com."),
        ];
        for seed in 0..50 {
            let order = order_targets(&records, seed);
            assert_eq!(order.len(), 4);
            assert_eq!(order[3], "backup.example.com");
            assert!(!order.contains(&"alt.example.com".to_owned()));
            assert!(order[..3].contains(&"ad3.example.com".to_owned()));
        }
    }

    #[test]
    fn weights_bias_the_first_pick() {
        let records = [
            record(0, 90, 443, "heavy.example.com"),
            record(0, 10, 443, "light.example.com"),
        ];
        let heavy_first = (0..1000)
            .filter(|seed| order_targets(&records, *seed)[0] == "heavy.example.com")
            .count();
        assert!((800..=980).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn dot_and_invalid_targets_dropped() {
        let records = [
            record(0, 0, 443, "."),
            record(0, 0, 443, "bad host"),
            record(0, 0, 443, "x"),
            record(0, 0, 443, "192.0.2.1."),
            record(1, 0, 443, "mail.example.net."),
            record(1, 0, 443, "MAIL.example.net"),
        ];
        assert_eq!(order_targets(&records, 7), ["mail.example.net"]);
    }
}
