//! A browser without JavaScript over real HTTP: its own cookies, no redirects
//! followed, and no connection reused (a killed server's connections are dead).

use std::time::Duration;

/// One browser: its own cookies (`__Host-` cookies are `Secure`, which no client
/// stores over plain HTTP, so they are carried by hand).
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    pub(crate) cookies: Vec<(String, String)>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: String,
    pub(crate) body: String,
}

impl Browser {
    pub(crate) fn new(port: u16) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            // A connection to a killed server must not be reused.
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Self { http, base: format!("http://127.0.0.1:{port}"), cookies: Vec::new() }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Result<Page, reqwest::Error> {
        let req = if self.cookies.is_empty() { req } else { req.header("cookie", self.cookie_header()) };
        let resp = req.send().await?;
        for v in resp.headers().get_all("set-cookie") {
            let Some((k, v)) = v.to_str().ok().and_then(|v| v.split(';').next()).and_then(|kv| kv.split_once('='))
            else {
                continue;
            };
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        Ok(Page { status, location, body: resp.text().await? })
    }

    pub(crate) async fn get(&mut self, path: &str) -> Result<Page, reqwest::Error> {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, body: String) -> Result<Page, reqwest::Error> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    pub(crate) async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        (field, file_name, bytes): (&str, &str, &[u8]),
    ) -> Result<Page, reqwest::Error> {
        let boundary = "----amtsweg-reliability";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(req).await
    }
}
