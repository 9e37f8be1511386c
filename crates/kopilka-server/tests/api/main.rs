//! One integration-test binary: every story runs against the real server, on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod cards;
mod helpers;
mod logs;
mod ops;
mod points;
mod profile;
mod registration;
mod sign_in;
mod sms_webhook;
mod staff;
mod till;
