use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use super::*;

fn parse(args: &[&str]) -> Result<ArgMatches, clap::Error> {
    command().try_get_matches_from(args)
}

#[test]
fn the_options() {
    let m = parse(&["metrics"]).unwrap();
    assert!(m.get_one::<SocketAddr>("listen").is_none());
    assert!(!m.get_flag("no-destinations"));
    let m = parse(&["metrics", "--listen", "[::1]:9850", "--no-destinations"]).unwrap();
    assert_eq!(
        m.get_one::<SocketAddr>("listen"),
        Some(&"[::1]:9850".parse().unwrap())
    );
    assert!(m.get_flag("no-destinations"));
}

#[test]
fn a_bad_listen_address_is_a_usage_error_that_says_what_to_give() {
    for bad in [
        "9850",
        "localhost:9850",
        "10.0.0.1",
        "10.0.0.1:99999",
        "::1:9850",
        "",
    ] {
        let e = parse(&["metrics", "--listen", bad]).expect_err(bad);
        assert_eq!(e.exit_code(), 2, "{bad}");
        assert!(e.to_string().contains("127.0.0.1:9850"), "{bad}: {e}");
    }
    assert_eq!(parse(&["metrics", "--listen"]).unwrap_err().exit_code(), 2);
    assert_eq!(parse(&["metrics", "extra"]).unwrap_err().exit_code(), 2);
}

#[test]
fn bind_errors_say_what_to_do() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let e = TcpListener::bind(addr).unwrap_err();
    let text = bind_error(addr, &e);
    assert!(
        text.starts_with(&format!("cannot listen on {addr}: ")),
        "{text}"
    );
    assert!(
        text.contains(&format!("sport = :{}", addr.port())),
        "{text}"
    );
    let missing: SocketAddr = "192.0.2.1:9850".parse().unwrap();
    let e = TcpListener::bind(missing).unwrap_err();
    assert!(bind_error(missing, &e).contains("ip address"), "{e}");
}

/// One HTTP/1.0 request; returns the status line, the headers and the body.
fn request(addr: SocketAddr, method: &str, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.into(), headers.to_lowercase(), body.into())
}

/// The server loop over a scrape that fails every other time: 500 with the cause, and
/// it keeps serving; 200 with the metrics; 404 elsewhere; 405 for other methods; ends
/// when stopped.
#[test]
fn the_server_answers_scrapes_and_keeps_serving_after_a_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(Server::from_listener(listener, None).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
        thread::spawn(move || {
            let mut scrapes = 0;
            serve("test", &server, &stop, |_say| {
                scrapes += 1;
                if scrapes % 2 == 1 {
                    Err(format!(
                        "cannot read the IPVS table: scrape {scrapes} failed"
                    ))
                } else {
                    Ok(format!("# scrape {scrapes}\n"))
                }
            })
        })
    };

    let (status, headers, body) = request(addr, "GET", "/metrics");
    assert_eq!(status, "HTTP/1.0 500 Internal Server Error");
    assert_eq!(body, "cannot read the IPVS table: scrape 1 failed\n");
    assert!(
        headers.contains("content-type: text/plain; charset=utf-8"),
        "{headers}"
    );

    let (status, headers, body) = request(addr, "GET", "/metrics");
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert_eq!(body, "# scrape 2\n");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{headers}"
    );

    // Scrape parameters are ignored; HEAD scrapes too, without a body.
    assert_eq!(
        request(addr, "GET", "/metrics?module=x").2,
        "cannot read the IPVS table: scrape 3 failed\n"
    );
    let (status, _, body) = request(addr, "HEAD", "/metrics");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.0 200 OK", ""));

    for path in ["/", "/metric", "/metrics/", "/favicon.ico"] {
        let (status, _, body) = request(addr, "GET", path);
        assert_eq!(status, "HTTP/1.0 404 Not Found", "{path}");
        assert!(body.contains("/metrics"), "{path}: {body}");
    }
    let (status, headers, _) = request(addr, "POST", "/metrics");
    assert_eq!(status, "HTTP/1.0 405 Method Not Allowed");
    assert!(headers.contains("allow: get, head"), "{headers}");

    stop.store(true, Ordering::SeqCst);
    server.unblock();
    assert_eq!(serving.join().unwrap(), 0);
}

/// A client that asks and then never reads does not hold up the next scrape.
#[test]
fn a_client_that_does_not_read_holds_up_nobody() {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(Server::from_listener(listener, None).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
        // Far more than the sockets' buffers hold.
        thread::spawn(move || serve("test", &server, &stop, |_say| Ok("x".repeat(32 << 20))))
    };
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    thread::sleep(Duration::from_millis(300));
    let (status, _, body) = request(addr, "GET", "/metrics");
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert_eq!(body.len(), 32 << 20);
    drop(stalled);
    stop.store(true, Ordering::SeqCst);
    server.unblock();
    assert_eq!(serving.join().unwrap(), 0);
}
