//! The HTTP API under `/api/v1`. Handlers only extract, parse, call the service and answer.

pub mod adjustments;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod card_batches;
pub mod cards;
pub mod care;
pub mod catalog_files;
pub mod employee;
pub mod hr;
pub mod marketing;
pub mod me;
pub mod messages;
pub mod pos;
pub mod privacy;
pub mod public;
pub mod purchases;
pub mod reports;
pub mod sessions;
pub mod support;
pub mod tills;
pub mod views;

use crate::AppState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kopilka API", description = "Loyalty programme of a hypermarket chain: customers, points, tills, staff."),
    servers((url = "/api/v1", description = "This server")),
    modifiers(&BearerSchemes),
    tags(
        (name = "auth", description = "Customer sign-in, registration and recovery"),
        (name = "me", description = "The signed-in customer"),
        (name = "public", description = "Reference data, no credentials"),
        (name = "pos", description = "Tills (till keys)"),
        (name = "admin", description = "Back office (staff tokens)"),
        (name = "employee", description = "The employee's own account (employee tokens)"),
        (name = "ops", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, what) in [
            ("customer", "customer token"),
            ("staff", "staff token"),
            ("till", "till key"),
            ("employee", "employee token"),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(what))
                        .build(),
                ),
            );
        }
    }
}

/// Every `/api/v1` route, with the OpenAPI document they describe.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(me::router())
        .merge(purchases::router())
        .merge(privacy::router())
        .merge(sessions::router())
        .merge(cards::router())
        .merge(pos::router())
        .merge(public::router())
        .merge(admin::router())
        .merge(adjustments::router())
        .merge(audit::router())
        .merge(care::router())
        .merge(support::router())
        .merge(employee::router())
        .merge(hr::router())
        .merge(messages::router())
        .merge(tills::router())
        .merge(card_batches::router())
        .merge(marketing::router())
        .merge(reports::router())
        .merge(catalog_files::router())
}
