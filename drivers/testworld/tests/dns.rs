//! DNS server tests with raw queries built by hickory-proto, sent over UDP
//! and TCP to the server on 127.0.0.1 only.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::str::FromStr;
use std::time::Duration;

use autodiscover_testworld::{DnsServer, DnsTransport, Srv};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug)]
enum Transport {
    Udp,
    Tcp,
}

const TRANSPORTS: [Transport; 2] = [Transport::Udp, Transport::Tcp];

fn query_message(name: &str, record_type: RecordType) -> Vec<u8> {
    let mut message = Message::new(0x5a5a, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    message.set_edns(Edns::new());
    message.to_vec().unwrap()
}

fn query(server: SocketAddr, transport: Transport, name: &str, record_type: RecordType) -> Message {
    assert!(server.ip().is_loopback());
    let request = query_message(name, record_type);
    let response = match transport {
        Transport::Udp => {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            socket.set_read_timeout(Some(TIMEOUT)).unwrap();
            socket.send_to(&request, server).unwrap();
            let mut buffer = vec![0u8; 4096];
            let (len, from) = socket.recv_from(&mut buffer).unwrap();
            assert_eq!(from, server);
            buffer.truncate(len);
            buffer
        }
        Transport::Tcp => {
            let mut stream = TcpStream::connect_timeout(&server, TIMEOUT).unwrap();
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            let len = u16::try_from(request.len()).unwrap();
            stream.write_all(&len.to_be_bytes()).unwrap();
            stream.write_all(&request).unwrap();
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).unwrap();
            let mut buffer = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut buffer).unwrap();
            buffer
        }
    };
    let message = Message::from_vec(&response).unwrap();
    assert_eq!(message.metadata.id, 0x5a5a);
    assert_eq!(message.metadata.message_type, MessageType::Response);
    message
}

fn a_addresses(message: &Message) -> Vec<Ipv4Addr> {
    message
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

#[test]
fn a_record_over_udp_and_tcp() {
    let dns = DnsServer::start().unwrap();
    dns.set_a("autodiscover.example.com", Ipv4Addr::new(127, 0, 0, 7));

    for transport in TRANSPORTS {
        let response = query(
            dns.addr(),
            transport,
            "autodiscover.example.com.",
            RecordType::A,
        );
        assert_eq!(
            response.metadata.response_code,
            ResponseCode::NoError,
            "{transport:?}"
        );
        assert!(response.metadata.authoritative, "{transport:?}");
        assert_eq!(
            a_addresses(&response),
            [Ipv4Addr::new(127, 0, 0, 7)],
            "{transport:?}"
        );
        assert_eq!(response.answers[0].ttl, 0, "{transport:?}");
        assert!(response.edns.is_some(), "{transport:?}: OPT record missing");
    }

    let transports: Vec<DnsTransport> = dns.queries().iter().map(|q| q.transport).collect();
    assert_eq!(transports, [DnsTransport::Udp, DnsTransport::Tcp]);
    assert_eq!(dns.queries()[0].name, "autodiscover.example.com.");
    assert_eq!(dns.queries()[0].record_type, "A");
}

#[test]
fn name_match_ignores_case() {
    let dns = DnsServer::start().unwrap();
    dns.set_a("Mail.Example.COM", Ipv4Addr::LOCALHOST);

    let response = query(
        dns.addr(),
        Transport::Udp,
        "mAIL.example.com.",
        RecordType::A,
    );

    assert_eq!(a_addresses(&response), [Ipv4Addr::LOCALHOST]);
}

#[test]
fn srv_records_over_udp_and_tcp() {
    let dns = DnsServer::start().unwrap();
    dns.set_srv(
        "_autodiscover._tcp.example.com",
        vec![
            Srv::new(0, 5, 443, "mail.example.com"),
            Srv::new(10, 0, 8443, "backup.example.com"),
        ],
    );
    dns.set_a("mail.example.com", Ipv4Addr::new(127, 0, 0, 9));

    for transport in TRANSPORTS {
        let response = query(
            dns.addr(),
            transport,
            "_autodiscover._tcp.example.com.",
            RecordType::SRV,
        );
        assert_eq!(
            response.metadata.response_code,
            ResponseCode::NoError,
            "{transport:?}"
        );
        let records: Vec<(u16, u16, u16, String)> = response
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => {
                    Some((srv.priority, srv.weight, srv.port, srv.target.to_string()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            records,
            [
                (0, 5, 443, "mail.example.com.".to_owned()),
                (10, 0, 8443, "backup.example.com.".to_owned()),
            ],
            "{transport:?}"
        );
        // The known target's address rides along in the additional section.
        let additional: Vec<String> = response
            .additionals
            .iter()
            .map(|record| format!("{} {}", record.name, record.data))
            .collect();
        assert_eq!(additional, ["mail.example.com. 127.0.0.9"], "{transport:?}");
    }
}

#[test]
fn unknown_name_gets_nxdomain_with_soa() {
    let dns = DnsServer::start().unwrap();
    dns.set_a("autodiscover.example.com", Ipv4Addr::LOCALHOST);

    for transport in TRANSPORTS {
        for record_type in [RecordType::A, RecordType::SRV] {
            let response = query(dns.addr(), transport, "nothing.example.org.", record_type);
            let case = format!("{transport:?} {record_type}");
            assert_eq!(
                response.metadata.response_code,
                ResponseCode::NXDomain,
                "{case}"
            );
            assert!(response.answers.is_empty(), "{case}");
            assert_eq!(response.authorities.len(), 1, "{case}");
            assert_eq!(
                response.authorities[0].record_type(),
                RecordType::SOA,
                "{case}"
            );
        }
    }
}

#[test]
fn existing_name_without_type_gets_nodata() {
    let dns = DnsServer::start().unwrap();
    dns.set_a("autodiscover.example.com", Ipv4Addr::LOCALHOST);
    dns.set_srv(
        "_autodiscover._tcp.example.com",
        vec![Srv::new(0, 0, 443, "x.example.com")],
    );

    let wrong_type = query(
        dns.addr(),
        Transport::Udp,
        "autodiscover.example.com.",
        RecordType::SRV,
    );
    // "_tcp.example.com" has no records but a name below it does.
    let empty_non_terminal = query(
        dns.addr(),
        Transport::Udp,
        "_tcp.example.com.",
        RecordType::A,
    );

    for response in [wrong_type, empty_non_terminal] {
        assert_eq!(response.metadata.response_code, ResponseCode::NoError);
        assert!(response.answers.is_empty());
        assert_eq!(response.authorities[0].record_type(), RecordType::SOA);
    }
}

#[test]
fn zone_changes_apply_to_next_query() {
    let dns = DnsServer::start().unwrap();
    let name = "autodiscover.example.com.";
    dns.set_a(name, Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(
        a_addresses(&query(dns.addr(), Transport::Udp, name, RecordType::A)),
        [Ipv4Addr::new(127, 0, 0, 2)]
    );

    dns.set_a(name, Ipv4Addr::new(127, 0, 0, 3));
    assert_eq!(
        a_addresses(&query(dns.addr(), Transport::Tcp, name, RecordType::A)),
        [Ipv4Addr::new(127, 0, 0, 3)]
    );

    dns.remove(name);
    let removed = query(dns.addr(), Transport::Udp, name, RecordType::A);
    assert_eq!(removed.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
#[should_panic(expected = "serves only 127.0.0.0/8")]
fn set_a_rejects_non_loopback() {
    let dns = DnsServer::start().unwrap();
    dns.set_a("example.com", Ipv4Addr::new(192, 0, 2, 1));
}

#[test]
fn drop_closes_tcp_port() {
    let dns = DnsServer::start().unwrap();
    let addr = dns.addr();
    // An open DNS-over-TCP connection must not delay the stop.
    let idle = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();

    drop(dns);

    let error = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    drop(idle);
}
