//! A browser without script for the page stories: its cookies, forms and redirects.

use crate::helpers::{TestApp, PASSWORD};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::collections::BTreeMap;

/// A browser: its cookies, and no redirects followed, so each step can be checked.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the hidden `csrf` input.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf token");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    pub fn location(&self) -> &str {
        self.headers[LOCATION].to_str().unwrap()
    }
}

impl<'a> Browser<'a> {
    /// Signs in at `/login` with a password.
    pub async fn sign_in(&mut self, login: &str, agent: &str) {
        let csrf = self.get("/login").await.csrf();
        let request = self
            .client
            .post(format!("{}/login/password", self.app.base))
            .header("user-agent", agent)
            .form(&[
                ("csrf", csrf.as_str()),
                ("login", login),
                ("password", PASSWORD),
            ]);
        let page = self.send(request).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }

    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = if cookie.is_empty() {
            request
        } else {
            request.header(COOKIE, cookie.join("; "))
        };
        let res = request.send().await.unwrap();
        for set in res.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Lax"),
                "{set}"
            );
            let (pair, _) = set.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.app.base));
        self.send(request).await
    }

    pub async fn get_with(&mut self, path: &str, name: &str, value: &str) -> Page {
        let request = self
            .client
            .get(format!("{}{path}", self.app.base))
            .header(name, value);
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .client
            .post(format!("{}{path}", self.app.base))
            .form(form);
        self.send(request).await
    }
}
