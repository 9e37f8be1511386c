//! One integration-test binary: every story runs against the real server, on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod account_pages;
mod adjustments;
mod browser;
mod cards;
mod care;
mod catalog;
mod catalog_files;
mod employees;
mod helpers;
mod logs;
mod marketing;
mod offers;
mod ops;
mod pages;
mod points;
mod privacy;
mod profile;
mod quoted_purchases;
mod receipts;
mod registration;
mod reports;
mod roles;
mod security;
mod shop_pages;
mod sign_in;
mod sms_webhook;
mod staff;
mod staff_security;
mod support;
mod till;
mod tills;
