//! The pages' texts come from the catalogues of `kopilka-text`. A page's language comes from
//! `?lang=`, then the remembered choice (a cookie), then the browser's `Accept-Language`, then
//! Russian.

pub use kopilka_text::{Lang, Texts};
