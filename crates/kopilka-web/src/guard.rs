//! Who a page is for. A page for a signed-in customer, employee or staff member takes
//! `Signed<…>` and is handed the visitor with their session; anyone else is sent to that
//! audience's sign-in page, with the cookies this visit set. A form checks its CSRF token
//! before the session (`Signed::form`), so a forged post is refused whoever sends it.

use crate::pages::{refused, to};
use crate::session::Visitor;
use crate::WebState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use kopilka_service::auth::CustomerSession;
use kopilka_service::employees::EmployeeSession;
use kopilka_store::StaffMember;
use std::future::Future;

/// Someone a page can be for: how their session is found, and where they sign in.
pub(crate) trait Audience: Sized + Send {
    const SIGN_IN: &'static str;
    fn find(state: &WebState, visitor: &Visitor) -> impl Future<Output = Option<Self>> + Send;
}

impl Audience for CustomerSession {
    const SIGN_IN: &'static str = "/login";
    async fn find(state: &WebState, visitor: &Visitor) -> Option<Self> {
        let token = visitor.session.as_deref()?;
        state.kopilka.customer_session(token).await.ok()
    }
}

impl Audience for StaffMember {
    const SIGN_IN: &'static str = crate::admin::SIGN_IN;
    async fn find(state: &WebState, visitor: &Visitor) -> Option<Self> {
        let token = visitor.staff_session.as_deref()?;
        state.kopilka.authenticate_staff(token, &[]).await.ok()
    }
}

impl Audience for EmployeeSession {
    const SIGN_IN: &'static str = crate::employee::HOME;
    async fn find(state: &WebState, visitor: &Visitor) -> Option<Self> {
        let token = visitor.employee_session.as_deref()?;
        state.kopilka.authenticate_employee(token, false).await.ok()
    }
}

/// A visit by a signed-in `A`.
pub(crate) struct Signed<A> {
    pub(crate) visitor: Visitor,
    pub(crate) who: A,
}

impl<A: Audience> Signed<A> {
    /// A form's post: its CSRF token first (a 403 page), then the session (to sign in).
    pub(crate) async fn form(
        state: &WebState,
        visitor: Visitor,
        csrf: &str,
    ) -> Result<Self, Response> {
        if !visitor.csrf_ok(state, csrf) {
            return Err(refused(state, visitor));
        }
        Self::of(state, visitor).await
    }

    async fn of(state: &WebState, visitor: Visitor) -> Result<Self, Response> {
        match A::find(state, &visitor).await {
            Some(who) => Ok(Self { visitor, who }),
            None => Err(to(A::SIGN_IN, visitor)),
        }
    }
}

impl<A: Audience> FromRequestParts<WebState> for Signed<A> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let Ok(visitor) = Visitor::from_request_parts(parts, state).await;
        Self::of(state, visitor).await
    }
}

/// An employee who has set their own password: the temporary one opens nothing but the
/// page that changes it.
pub(crate) struct ActiveEmployee(pub(crate) EmployeeSession);

impl Audience for ActiveEmployee {
    const SIGN_IN: &'static str = crate::employee::HOME;
    async fn find(state: &WebState, visitor: &Visitor) -> Option<Self> {
        EmployeeSession::find(state, visitor)
            .await
            .filter(|s| !s.employee.must_change_password)
            .map(ActiveEmployee)
    }
}
