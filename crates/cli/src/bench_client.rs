//! The load generator's HTTP/1.1 client: one keep-alive connection, one request at
//! a time, each request written with one `write` and each response read into one
//! reused buffer (heads parsed by `httparse`, the parser hyper uses).
//!
//! Written here instead of using hyper's client because the benchmarks run the load
//! generator on the same two cores as the server it measures: hyper's client runs
//! every connection as a task of its own and hands each request and response across
//! a channel between the two tasks, which cost about as much CPU as a whole request
//! of the bare handler. A lean generator, as `wrk` is, leaves those cores to the
//! server. It speaks only what the portal answers: `Content-Length` and chunked
//! bodies on a connection that stays open.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// At most this many header lines in a response head.
const MAX_HEADERS: usize = 48;

/// A response as the benchmarks need it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The `Location` header, empty when there is none.
    pub location: String,
    /// The `name=value` part of each `Set-Cookie` header, in order.
    pub cookies: Vec<String>,
    pub body: String,
}

/// One keep-alive connection to the server.
pub struct Connection {
    stream: TcpStream,
    host: String,
    /// The request being written (reused).
    out: Vec<u8>,
    /// Bytes read and not yet consumed.
    input: Vec<u8>,
}

impl Connection {
    /// Connects to `addr` (without Nagle's delay, as browsers do).
    ///
    /// # Errors
    /// When the connection cannot be made.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, host: addr.to_string(), out: Vec::with_capacity(1024), input: Vec::with_capacity(32 * 1024) })
    }

    /// `http://host:port` of this connection, for an `Origin` header.
    #[must_use]
    pub fn origin(&self) -> String {
        format!("http://{}", self.host)
    }

    /// Sends one request and reads its whole response. `headers` are sent as given;
    /// `Host` and, with a body, `Content-Length` are added.
    ///
    /// # Errors
    /// When the connection fails or the response is not HTTP/1.1 as expected.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> anyhow::Result<Answer> {
        use std::io::Write;
        self.out.clear();
        write!(self.out, "{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host)?;
        for (name, value) in headers {
            write!(self.out, "{name}: {value}\r\n")?;
        }
        if let Some(b) = body {
            write!(self.out, "content-length: {}\r\n\r\n", b.len())?;
            self.out.extend_from_slice(b);
        } else {
            self.out.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&self.out).await.context("cannot send the request")?;
        self.read_answer(method == "HEAD").await
    }

    /// Reads more bytes into `input`; an error when the server closed the connection.
    async fn fill(&mut self) -> anyhow::Result<()> {
        self.input.reserve(16 * 1024);
        if self.stream.read_buf(&mut self.input).await? == 0 {
            bail!("the server closed the connection in the middle of a response");
        }
        Ok(())
    }

    async fn read_answer(&mut self, head_only: bool) -> anyhow::Result<Answer> {
        let (head_len, status, location, cookies, length, chunked) = loop {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut r = httparse::Response::new(&mut slots);
            match r.parse(&self.input).context("the response head is not HTTP/1.1")? {
                httparse::Status::Complete(n) => {
                    let (mut location, mut cookies, mut length, mut chunked) = (String::new(), Vec::new(), 0, false);
                    for h in r.headers.iter() {
                        let value = std::str::from_utf8(h.value).unwrap_or_default();
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse::<usize>().context("a Content-Length that is no number")?;
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = value.to_ascii_lowercase().contains("chunked");
                        } else if h.name.eq_ignore_ascii_case("location") {
                            value.clone_into(&mut location);
                        } else if h.name.eq_ignore_ascii_case("set-cookie") {
                            cookies.push(value.split(';').next().unwrap_or_default().to_owned());
                        }
                    }
                    break (n, r.code.unwrap_or(0), location, cookies, length, chunked);
                }
                httparse::Status::Partial => self.fill().await?,
            }
        };
        self.input.drain(..head_len);
        let body = if head_only || status == 204 || status == 304 {
            Vec::new()
        } else if chunked {
            self.read_chunked().await?
        } else {
            while self.input.len() < length {
                self.fill().await?;
            }
            self.input.drain(..length).collect()
        };
        let body = String::from_utf8(body).context("the response body is not UTF-8")?;
        Ok(Answer { status, location, cookies, body })
    }

    /// A chunked body: `<hex size>\r\n<data>\r\n` … `0\r\n\r\n` (no trailers expected).
    async fn read_chunked(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.input.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                self.fill().await?;
            };
            let line = std::str::from_utf8(&self.input[..line_end]).unwrap_or_default();
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16).context("a chunk size that is no hex number")?;
            while self.input.len() < line_end + 2 + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.input[line_end + 2..line_end + 2 + size]);
            self.input.drain(..line_end + 2 + size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Connection;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers each request with the next canned response.
    async fn canned(responses: Vec<&'static [u8]>) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            for r in responses {
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.unwrap();
                    got.extend_from_slice(&buf[..n]);
                }
                // Sent in two parts, so the client must put a response together.
                let (a, b) = r.split_at(r.len() / 2);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                s.write_all(b).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn reads_length_and_chunked_bodies_and_redirects_on_one_connection() {
        let addr = canned(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nset-cookie: a=1; Path=/; HttpOnly\r\n\r\nHallo",
            b"HTTP/1.1 303 See Other\r\nlocation: /eingang/abc\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nWahl\r\n5\r\nkreis\r\n0\r\n\r\n",
        ])
        .await;
        let mut c = Connection::connect(addr).await.unwrap();
        let a = c.send("GET", "/", &[], None).await.unwrap();
        assert_eq!((a.status, a.body.as_str(), a.cookies), (200, "Hallo", vec!["a=1".to_owned()]));
        let b = c.send("POST", "/", &[("content-type", "text/plain")], Some(b"x=1")).await.unwrap();
        assert_eq!((b.status, b.location.as_str(), b.body.as_str()), (303, "/eingang/abc", ""));
        let d = c.send("GET", "/eingang/abc", &[], None).await.unwrap();
        assert_eq!((d.status, d.body.as_str()), (200, "Wahlkreis"));
    }
}
